"""Money in channel messages: Babel's formats, with the texts envoi always sent for EUR."""

import pytest

from envoi.channels.money_text import money_text


@pytest.mark.parametrize(
    ("amount_cents", "currency_code", "locale", "text"),
    [
        (1050, "EUR", "fr_FR", "10,50 €"),
        (1, "EUR", "fr_FR", "0,01 €"),
        (123456, "EUR", "fr_FR", "1234,56 €"),  # no thousands separator, as before
        (99_999_999_999_999, "EUR", "fr_FR", "999999999999,99 €"),  # exact: no float
        (1050, "USD", "fr_FR", "10,50 $US"),  # the transfer's currency, not EUR
        (1050, "USD", "en_US", "$10.50"),
    ],
)
def test_money_text(amount_cents, currency_code, locale, text):
    assert money_text(amount_cents, currency_code, locale) == text


def test_the_default_locale_keeps_the_french_texts():
    assert money_text(600, "EUR") == "6,00 €"
