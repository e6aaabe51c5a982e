"""Amounts as money in the person's language: "10,00 €" in French, "€10.00" in English."""

from decimal import Decimal

from babel.numbers import format_currency, get_currency_precision

from envoi.wallet.i18n import LOCALES, language


def money(amount_cents: int, currency_code: str, lang: str, *, signed: bool = False) -> str:
    """Integer minor units to text; never through a float."""
    code = currency_code or "EUR"
    amount = Decimal(int(amount_cents)).scaleb(-get_currency_precision(code))
    text = format_currency(amount, code, locale=LOCALES[language(lang)])
    return f"+{text}" if signed and amount_cents > 0 else text
