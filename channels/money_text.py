"""Money as the channels write it: an amount in cents, in its currency, for a
locale (Babel's CLDR data). fr_FR keeps the texts envoi always sent for EUR:
"10,50 €", "1234,56 €"."""

from decimal import Decimal

from babel.numbers import format_currency

DEFAULT_LOCALE = "fr_FR"
CENT_DIGITS = 2  # envoi counts every currency in hundredths (amount_cents)


def money_text(amount_cents: int, currency_code: str, locale: str = DEFAULT_LOCALE) -> str:
    # Decimal from the integer: never a float between the ledger and the text.
    amount = Decimal(amount_cents).scaleb(-CENT_DIGITS)
    text = format_currency(amount, currency_code, locale=locale, group_separator=False)
    # CLDR puts a no-break space before "€": X and Messenger users, and the
    # tests, have always read a plain one.
    return text.replace("\xa0", " ").replace("\u202f", " ")
