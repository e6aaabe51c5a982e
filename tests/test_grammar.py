"""The post grammar (envoi.channels.grammar): what it accepts, what it
rejects and why, and properties: it never raises, it reads exactly the amount
of a well-formed post, it never accepts an amount it did not fully understand,
and the memo never holds the amount or the recipient."""

import collections
import html
import re
import string

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from envoi.channels.grammar import MAX_TEXT_CHARS, REASONS, Grammar, Rejection, TransferIntent

BOT = "SmoneyFR"
GRAMMAR = Grammar(BOT)


def post(command: str) -> str:
    return f"@{BOT} #envoyer {command}"


# -- accepted ---------------------------------------------------------------

ACCEPTED = [
    # (text, parse options, amount_cents, recipient, memo)
    (post("10€ @alice"), {}, 1000, "alice", ""),
    (post("10 € @alice"), {}, 1000, "alice", ""),
    (post("10\u00a0€ @alice"), {}, 1000, "alice", ""),  # no-break space
    (post("10\u202f€ @alice"), {}, 1000, "alice", ""),  # narrow no-break space
    (post("10\u2009€ @alice"), {}, 1000, "alice", ""),  # thin space
    (post("10\u3000€ @alice"), {}, 1000, "alice", ""),  # ideographic space
    (post("€10 @alice"), {}, 1000, "alice", ""),
    (post("€ 10 @alice"), {}, 1000, "alice", ""),
    (post("€\u00a010 @alice"), {}, 1000, "alice", ""),
    (post("10 euros @alice"), {}, 1000, "alice", ""),
    (post("10 euro @alice"), {}, 1000, "alice", ""),
    (post("10 EUR @alice"), {}, 1000, "alice", ""),
    (post("10 Euros @alice"), {}, 1000, "alice", ""),
    (post("10 eur @alice"), {}, 1000, "alice", ""),
    (post("10EUR @alice"), {}, 1000, "alice", ""),
    (post("10euros @alice"), {}, 1000, "alice", ""),
    (post("EUR 10 @alice"), {}, 1000, "alice", ""),
    (post("10,5€ @alice"), {}, 1050, "alice", ""),
    (post("10.5€ @alice"), {}, 1050, "alice", ""),
    (post("10,50 € @alice"), {}, 1050, "alice", ""),
    (post("10.05 € @alice"), {}, 1005, "alice", ""),
    (post("0,01€ @alice"), {}, 1, "alice", ""),
    (post("0.1 euro @alice"), {}, 10, "alice", ""),
    (post("1 € @alice"), {}, 100, "alice", ""),
    (post("1500€ @alice"), {}, 150_000, "alice", ""),
    (post("999999999999,99€ @alice"), {}, 99_999_999_999_999, "alice", ""),
    # either order; command words anywhere
    (post("@alice 10€"), {}, 1000, "alice", ""),
    (f"@alice 10€ #envoyer @{BOT}", {}, 1000, "alice", ""),
    (
        f"merci @{BOT} pour tout #envoyer @bob 12,50 € le resto 🍕",
        {},
        1250,
        "bob",
        "merci pour tout le resto 🍕",
    ),
    # the memo: punctuation around removed words goes with them; whitespace collapses
    (post("10€ @alice, merci !"), {}, 1000, "alice", "merci !"),
    (post("(10€) @alice."), {}, 1000, "alice", ""),
    (f"@{BOT}\n#envoyer\t10€\n\n@alice  merci\n beaucoup", {}, 1000, "alice", "merci beaucoup"),
    (post("10€ @alice pour 2 pizzas"), {}, 1000, "alice", "pour 2 pizzas"),
    (
        post("10€ @alice #merci https://t.co/Ab12cD34"),
        {},
        1000,
        "alice",
        "#merci https://t.co/Ab12cD34",
    ),
    (post("10€ @alice pour l'Euro2024 à 14h30"), {}, 1000, "alice", "pour l'Euro2024 à 14h30"),
    (post("10€ @alice en euros"), {}, 1000, "alice", "en euros"),
    # an address is not a mention: a@b.com is memo text
    (
        post("10€ @alice facture à jean@example.com"),
        {},
        1000,
        "alice",
        "facture à jean@example.com",
    ),
    # HTML entities as X sends them, decoded once
    (
        post("10€ @alice Tom &amp; Jerry &lt;3 &gt;_&lt; caf&#233; caf&#xE9;"),
        {},
        1000,
        "alice",
        "Tom & Jerry <3 >_< café café",
    ),
    (post("10&#8364; @alice"), {}, 1000, "alice", ""),
    (post("10&nbsp;&euro; @alice"), {}, 1000, "alice", ""),
    # case-insensitive keyword and handles; the recipient as written
    ("@SMONEYFR #ENVOYER 10 € @Alice", {}, 1000, "Alice", ""),
    ("@smoneyfr #Send 10 € @alice_2", {}, 1000, "alice_2", ""),
    (post("10€ @abcdefghijklmno"), {}, 1000, "abcdefghijklmno", ""),  # 15 characters
    (post("10€ ＠alice"), {}, 1000, "alice", ""),  # full-width @
    (post("10€ @alice😘 merci"), {}, 1000, "alice", "merci"),  # an emoji ends a handle
    (post("10€ .@alice"), {}, 1000, "alice", ""),
    (f".@{BOT} #envoyer 10€ @alice", {}, 1000, "alice", ""),
    # the same recipient twice is one recipient; the bot twice is the bot
    (post("10€ @alice merci @Alice"), {}, 1000, "alice", "merci"),
    (post(f"10€ @alice @{BOT}"), {}, 1000, "alice", ""),
    # private messages: no mention of the bot needed; if there, it is ignored
    ("#envoyer 10€ @alice", {"direct_message": True}, 1000, "alice", ""),
    (post("10€ @alice"), {"direct_message": True}, 1000, "alice", ""),
    ("merci #send @bob €5", {"direct_message": True}, 500, "bob", "merci"),
]


@pytest.mark.parametrize("text, options, cents, recipient, memo", ACCEPTED)
def test_accepted(text, options, cents, recipient, memo):
    assert GRAMMAR.parse(text, **options) == TransferIntent(cents, "EUR", recipient, memo)


def test_bot_keywords_and_currency_are_configuration():
    grammar = Grammar("PayBot", ("payer",))
    assert grammar.parse("@paybot #Payer 3€ @alice") == TransferIntent(300, "EUR", "alice", "")
    assert grammar.parse(post("3€ @alice")).reason == "NOT_ADDRESSED"
    assert grammar.parse("@PayBot #envoyer 3€ @alice").reason == "MISSING_KEYWORD"
    dollars = Grammar("PayBot", ("pay",), currency="USD")
    assert dollars.parse("@PayBot #pay $3 @alice") == TransferIntent(300, "USD", "alice", "")
    assert dollars.parse("@PayBot #pay 3 dollars @alice").amount_cents == 300
    assert dollars.parse("@PayBot #pay 3€ @alice").reason == "UNSUPPORTED_CURRENCY"
    assert "3 dollars" not in dollars.parse("@PayBot #pay 3 euros @alice").message


@pytest.mark.parametrize(
    "options",
    [
        {"bot_handle": "@SmoneyFR"},
        {"bot_handle": "a-b"},
        {"bot_handle": "x" * 16},
        {"bot_handle": ""},
        {"bot_handle": BOT, "keywords": ()},
        {"bot_handle": BOT, "keywords": ("#envoyer",)},
        {"bot_handle": BOT, "keywords": ("a b",)},
        {"bot_handle": BOT, "keywords": ("",)},
        {"bot_handle": BOT, "currency": "eur"},
    ],
)
def test_a_bad_configuration_is_refused(options):
    with pytest.raises(ValueError):
        Grammar(**options)


# -- rejected ---------------------------------------------------------------

REJECTED = [
    # (text, parse options, reason)
    (post("10€ @alice"), {"is_retweet": True}, "RETWEET"),
    (f"RT @bob: {post('10€ @alice')}", {}, "RETWEET"),
    (f"  RT  ＠bob {post('10€ @alice')}", {}, "RETWEET"),
    (post("10€ @alice"), {"is_quote": True}, "QUOTE_TWEET"),
    (post("10€ @alice ") + "a" * MAX_TEXT_CHARS, {}, "TEXT_TOO_LONG"),
    ("#envoyer 10€ @alice", {}, "NOT_ADDRESSED"),
    ("", {}, "NOT_ADDRESSED"),
    ("@SmoneyFR_ #envoyer 10€ @alice", {}, "NOT_ADDRESSED"),  # another handle
    ("contact@SmoneyFR #envoyer 10€ @alice", {}, "NOT_ADDRESSED"),  # not a mention
    ("SmoneyFR #envoyer 10€ @alice", {}, "NOT_ADDRESSED"),
    (f"@{BOT} 10€ @alice", {}, "MISSING_KEYWORD"),
    (f"@{BOT} envoyer 10€ @alice", {}, "MISSING_KEYWORD"),
    (f"@{BOT} #envoyer10€ @alice", {}, "MISSING_KEYWORD"),
    (f"@{BOT} #envoyé 10€ @alice", {}, "MISSING_KEYWORD"),
    (f"@{BOT} x#envoyer 10€ @alice", {}, "MISSING_KEYWORD"),
    ("10€ @alice", {"direct_message": True}, "MISSING_KEYWORD"),
    (post("@alice"), {}, "MISSING_AMOUNT"),
    (post("dix euros @alice"), {}, "MISSING_AMOUNT"),
    (post("10e @alice"), {}, "MISSING_AMOUNT"),
    (post("10&amp;euro; @alice"), {}, "INVALID_AMOUNT"),  # decoded once: "10&euro;"
    (post("#10€ @alice"), {}, "MISSING_AMOUNT"),
    (post("10 @alice"), {}, "MISSING_CURRENCY"),
    (post("10,50 @alice"), {}, "MISSING_CURRENCY"),
    (post("10 @alice €"), {}, "MISSING_CURRENCY"),
    (post("10, € @alice"), {}, "MISSING_CURRENCY"),
    (post("10€ 5€ @alice"), {}, "MULTIPLE_AMOUNTS"),
    (post("10€ @alice et 2 euros"), {}, "MULTIPLE_AMOUNTS"),
    (post("10€ @alice $5"), {}, "MULTIPLE_AMOUNTS"),
    (post("10€ @alice 10€50"), {}, "MULTIPLE_AMOUNTS"),
    (post("$10 @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10$ @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10 USD @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("USD 10 @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10usd @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("£5 @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("¥500 @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10 dollars @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("5 CHF @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10$50 @alice"), {}, "UNSUPPORTED_CURRENCY"),
    (post("10 € 50 @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("10€ 50 @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("1 euro 50 @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("2 x 10€ @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("10€ x2 @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("- 10€ @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("~ 10€ @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("€ 10 € @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("10€ € @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("10€ EUR @alice"), {}, "AMBIGUOUS_AMOUNT"),
    (post("١٠€ @alice"), {}, "NON_ASCII_DIGITS"),  # Arabic-Indic
    (post("١٠ € @alice"), {}, "NON_ASCII_DIGITS"),
    (post("۱۰€ @alice"), {}, "NON_ASCII_DIGITS"),  # Extended Arabic-Indic
    (post("１０€ @alice"), {}, "NON_ASCII_DIGITS"),  # full-width
    (post("१०€ @alice"), {}, "NON_ASCII_DIGITS"),  # Devanagari
    (post("1٠€ @alice"), {}, "NON_ASCII_DIGITS"),  # mixed
    (post("10²€ @alice"), {}, "NON_ASCII_DIGITS"),
    (post("1½€ @alice"), {}, "NON_ASCII_DIGITS"),
    (post("-10€ @alice"), {}, "NEGATIVE_AMOUNT"),
    (post("−10€ @alice"), {}, "NEGATIVE_AMOUNT"),  # U+2212 minus sign
    (post("-10 € @alice"), {}, "NEGATIVE_AMOUNT"),
    (post("€-10 @alice"), {}, "NEGATIVE_AMOUNT"),
    (post("-0€ @alice"), {}, "NEGATIVE_AMOUNT"),
    (post("1e3€ @alice"), {}, "EXPONENT_NOTATION"),
    (post("1E3 € @alice"), {}, "EXPONENT_NOTATION"),
    (post("1e-2€ @alice"), {}, "EXPONENT_NOTATION"),
    (post("1,5e2€ @alice"), {}, "EXPONENT_NOTATION"),
    (post("10€50 @alice"), {}, "INVALID_AMOUNT"),
    (post("010€ @alice"), {}, "INVALID_AMOUNT"),
    (post("00,50€ @alice"), {}, "INVALID_AMOUNT"),
    (post("10,€ @alice"), {}, "INVALID_AMOUNT"),
    (post("10.€ @alice"), {}, "INVALID_AMOUNT"),
    (post(",5€ @alice"), {}, "INVALID_AMOUNT"),
    (post(".5€ @alice"), {}, "INVALID_AMOUNT"),
    (post("+10€ @alice"), {}, "INVALID_AMOUNT"),
    (post("~10€ @alice"), {}, "INVALID_AMOUNT"),
    (post("10..5€ @alice"), {}, "INVALID_AMOUNT"),
    (post("10,5,5€ @alice"), {}, "INVALID_AMOUNT"),
    (post("€10€ @alice"), {}, "INVALID_AMOUNT"),
    (post("10€/mois @alice"), {}, "INVALID_AMOUNT"),
    (post("euros 10 @alice"), {}, "INVALID_AMOUNT"),
    (post("EUR10 @alice"), {}, "INVALID_AMOUNT"),
    (post("2euros50 @alice"), {}, "INVALID_AMOUNT"),
    (post("10\u200b€ @alice"), {}, "INVALID_AMOUNT"),  # zero-width space is not a space
    (post("1,000€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1.000€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1.000,50€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1.000.000€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1'000€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("10,555€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("0,001€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1 500 € @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("1\u202f500 € @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("10 000€ @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("€ 1 500 @alice"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("10,5555€ @alice"), {}, "TOO_MANY_DECIMALS"),
    (post("0.0001 € @alice"), {}, "TOO_MANY_DECIMALS"),
    (post("1234567890123€ @alice"), {}, "AMOUNT_TOO_LARGE"),  # 13 integer digits
    (post("9" * 5000 + "€ @alice"), {}, "AMOUNT_TOO_LARGE"),
    (post("0€ @alice"), {}, "ZERO_AMOUNT"),
    (post("0,00€ @alice"), {}, "ZERO_AMOUNT"),
    (post("0.0 € @alice"), {}, "ZERO_AMOUNT"),
    (post("€0 @alice"), {}, "ZERO_AMOUNT"),
    (post("10€ @a-b"), {}, "INVALID_HANDLE"),
    (post("10€ @abcdefghijklmnop"), {}, "INVALID_HANDLE"),  # 16 characters
    (post("10€ @élodie"), {}, "INVALID_HANDLE"),
    (post("10€ @alice's"), {}, "INVALID_HANDLE"),
    (post("10€ @alice.bob"), {}, "INVALID_HANDLE"),
    (post("10€ @alice@bob"), {}, "INVALID_HANDLE"),
    (post("10€ @alice😘@bob"), {}, "INVALID_HANDLE"),
    (post("10€ @alice\u200b"), {}, "INVALID_HANDLE"),  # zero-width space: not an emoji
    (post("10€ @alice cc:@bob"), {}, "INVALID_HANDLE"),
    (post("10€ @alice &amp;@bob"), {}, "INVALID_HANDLE"),
    (post("10€ @alice @bob"), {}, "MULTIPLE_RECIPIENTS"),
    (post("10€ @alice merci @carol"), {}, "MULTIPLE_RECIPIENTS"),
    ("#envoyer 10€ @alice @bob", {"direct_message": True}, "MULTIPLE_RECIPIENTS"),
    (post(f"10€ @{BOT.lower()}"), {}, "BOT_AS_RECIPIENT"),
    (f"#envoyer 10€ @{BOT} @{BOT}", {"direct_message": True}, "BOT_AS_RECIPIENT"),
    (post("10€"), {}, "MISSING_RECIPIENT"),
    (post("10€ @ alice"), {}, "MISSING_RECIPIENT"),  # a lone @ is text
    (post("10€ à alice@example.com"), {}, "MISSING_RECIPIENT"),
    (post("10€"), {"direct_message": True}, "MISSING_RECIPIENT"),
    # collections, when nobody is mentioned
    (post("5€ #TelethonACF #Restos"), {}, "MULTIPLE_COLLECTIONS"),
    (post("5€ #TelethonACF merci #solidarite"), {}, "MULTIPLE_COLLECTIONS"),
    (post("5€ #Téléthon"), {}, "INVALID_HASHTAG"),
    (post("5€ #a-b"), {}, "INVALID_HASHTAG"),
    (post("5€ #ab"), {}, "INVALID_HASHTAG"),
    (post("5€ #2024"), {}, "INVALID_HASHTAG"),
    (post("5€ #" + "x" * 51), {}, "INVALID_HASHTAG"),
    (post("5€ #Telethon🎗"), {}, "INVALID_HASHTAG"),
    (post("5€ #TelethonACF @alice @bob"), {}, "MULTIPLE_RECIPIENTS"),
    # Requests (tests/test_grammar_requests.py for what they accept).
    (post("10€ @alice #demander"), {}, "MIXED_KEYWORDS"),
    (f"@{BOT} #send #request 10€ @alice", {}, "MIXED_KEYWORDS"),
    (post("10€ @alice #partage"), {}, "SPLIT_NOT_A_REQUEST"),
    (post("10€ #split"), {}, "SPLIT_NOT_A_REQUEST"),
    (f"@{BOT} #demander 10€", {}, "MISSING_PAYER"),
    (f"@{BOT} #demander 10€ @{BOT}", {}, "MISSING_PAYER"),
    (f"@{BOT} #demander 10€ #partage", {}, "MISSING_PAYER"),
    (f"@{BOT} #demander 10€ @bob @carol", {}, "MULTIPLE_PAYERS"),
    (f"@{BOT} #demander 10€ @bob partage @carol", {}, "MULTIPLE_PAYERS"),
    (f"@{BOT} #demander 10€ @bob #partage", {}, "SPLIT_NEEDS_TWO"),
    (f"@{BOT} #demander 10€ @bob @BOB #partage", {}, "SPLIT_NEEDS_TWO"),
    (
        f"@{BOT} #demander 99€ " + " ".join(f"@p{n}" for n in range(11)) + " #partage",
        {},
        "TOO_MANY_PAYERS",
    ),
    (f"@{BOT} #demander 0,02€ @a @b @c #partage", {}, "SHARE_TOO_SMALL"),
]


@pytest.mark.parametrize("text, options, reason", REJECTED)
def test_rejected(text, options, reason):
    result = GRAMMAR.parse(text, **options)
    assert isinstance(result, Rejection), result
    assert result.reason == reason


def test_every_reason_is_tested_and_described():
    assert {reason for _, _, reason in REJECTED} == set(REASONS)
    for reason, description in REASONS.items():
        assert re.fullmatch(r"[A-Z]+(?:_[A-Z]+)*", reason)
        assert description.endswith(".") and "\n" not in description


@pytest.mark.parametrize("reason", sorted(REASONS))
def test_messages_are_one_short_sentence_that_echoes_nothing(reason):
    text, options = next((t, o) for t, o, r in REJECTED if r == reason)
    message = GRAMMAR.parse(text, **options).message
    assert message.endswith(".") and "\n" not in message and len(message) <= 120
    assert "{" not in message and "alice's" not in message and "élodie" not in message
    # replies may quote these messages: they must not notify anyone but the bot
    assert set(re.findall(r"@(\w+)", message)) <= {BOT}


PRECEDENCE = [
    # (text, options, the reason that wins)
    ("#envoyer 10", {"is_retweet": True, "is_quote": True}, "RETWEET"),
    ("RT @bob: hello", {}, "RETWEET"),
    ("hello", {"is_quote": True}, "QUOTE_TWEET"),
    ("x" * (MAX_TEXT_CHARS + 1), {}, "TEXT_TOO_LONG"),
    ("10 @a-b", {}, "NOT_ADDRESSED"),  # also no keyword, no currency
    (f"@{BOT} 1e3€ @a-b @c @d", {}, "MISSING_KEYWORD"),
    (post("10€ 5€ @a-b @c @d"), {}, "MULTIPLE_AMOUNTS"),
    (post("1e3€ @a-b"), {}, "EXPONENT_NOTATION"),
    (post("$-1e3 @a-b"), {}, "UNSUPPORTED_CURRENCY"),
    (post("-1e3€"), {}, "NEGATIVE_AMOUNT"),
    (post("-١e3€"), {}, "NON_ASCII_DIGITS"),
    (post("1 000,555€"), {}, "AMBIGUOUS_THOUSANDS"),
    (post("10€ @a-b @c @d"), {}, "INVALID_HANDLE"),
    (post(f"10€ @c @d @{BOT}"), {}, "MULTIPLE_RECIPIENTS"),
]


@pytest.mark.parametrize("text, options, reason", PRECEDENCE)
def test_precedence(text, options, reason):
    assert GRAMMAR.parse(text, **options).reason == reason


# -- properties -----------------------------------------------------------

SPACES = [" ", "\u00a0", "\u202f", "\u2009", "\u3000"]
SEPARATORS = st.sampled_from([" ", "  ", "\n", "\t", " \u00a0"])
HANDLES = st.from_regex(r"[A-Za-z0-9_]{1,15}", fullmatch=True).filter(
    lambda handle: handle.lower() != BOT.lower()
)
# Memo words: (as written, as the memo holds it). Letters only, or fixed ones.
PLAIN_WORDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyzéèàçù", min_size=2, max_size=8).filter(
    lambda w: w not in {"eur", "euro", "euros", "dollar", "dollars", "pound", "pounds"}
)
MEMO_WORDS = st.one_of(
    PLAIN_WORDS.map(lambda w: (w, w)),
    st.sampled_from(
        [
            ("#merci", "#merci"),
            ("🍕", "🍕"),
            ("&amp;", "&"),
            ("caf&#233;", "café"),
            ("https://t.co/Ab12", "https://t.co/Ab12"),
            ("14h30", "14h30"),
            ("jean@example.com", "jean@example.com"),
            ("!", "!"),
        ]
    ),
)
# Numbers may stand in the memo, but not right next to the amount.
MEMO_WORDS_WITH_NUMBERS = st.one_of(MEMO_WORDS, st.sampled_from([("2", "2"), ("2024", "2024")]))


def random_case(draw, word):
    return "".join(ch.upper() if draw(st.booleans()) else ch.lower() for ch in word)


@st.composite
def amounts(draw):
    """(amount_cents, the amount as a person writes it)"""
    cents = draw(st.one_of(st.integers(1, 100_000), st.integers(1, 10**14 - 1)))
    units, rest = divmod(cents, 100)
    if rest == 0:
        decimals = draw(st.sampled_from(["", "0", "00"]))
    elif rest % 10 == 0:
        decimals = draw(st.sampled_from([str(rest // 10), f"{rest:02d}"]))
    else:
        decimals = f"{rest:02d}"
    number = str(units) + (draw(st.sampled_from(",.")) + decimals if decimals else "")
    space = draw(st.sampled_from(["", *SPACES]))
    form = draw(st.sampled_from(["N€", "€N", "N word", "EUR N"]))
    if form == "N€":
        text = f"{number}{space}€"
    elif form == "€N":
        text = f"€{space}{number}"
    elif form == "N word":
        text = number + space + random_case(draw, draw(st.sampled_from(["eur", "euro", "euros"])))
    else:
        text = random_case(draw, "eur") + draw(st.sampled_from(SPACES)) + number
    return cents, text


@st.composite
def well_formed_posts(draw):
    """(post text, parse options, the TransferIntent it asks for, the amount as written)"""
    cents, amount = draw(amounts())
    amount += draw(st.sampled_from(["", "", ".", "!", ","]))
    handle = draw(HANDLES)
    recipient = "@" + handle + draw(st.sampled_from(["", "", ",", ":", "."]))
    direct_message = draw(st.booleans())
    parts = [amount, recipient, "#" + random_case(draw, draw(st.sampled_from(["envoyer", "send"])))]
    if not direct_message or draw(st.booleans()):
        parts.append("@" + random_case(draw, BOT))
    parts = draw(st.permutations(parts))
    at = parts.index(amount)
    # memo words in the gaps: gap i comes before parts[i], the last gap after them all
    gaps = [
        draw(st.lists(MEMO_WORDS if i in (at, at + 1) else MEMO_WORDS_WITH_NUMBERS, max_size=3))
        for i in range(len(parts) + 1)
    ]
    words, memo = [], []
    for i, gap in enumerate(gaps):
        words += [raw for raw, _ in gap]
        memo += [decoded for _, decoded in gap]
        if i < len(parts):
            words.append(parts[i])
    text = "".join(word + draw(SEPARATORS) for word in words)
    return (
        text,
        {"direct_message": direct_message},
        TransferIntent(cents, "EUR", handle, " ".join(memo)),
        amount,
    )


OPTIONS = st.fixed_dictionaries(
    {"direct_message": st.booleans(), "is_retweet": st.booleans(), "is_quote": st.booleans()}
)
GRAMMAR_CHARACTERS = st.sampled_from(
    list("0123456789 ,.'’-−+eE€$£@#＠_xX&;\u00a0\u202f\n١３²" + string.ascii_letters[:6])
    + ["@SmoneyFR", "#envoyer", "@alice", "euros", "EUR", "&amp;", "&#8364;", "RT @"]
)


@given(
    st.one_of(
        st.text(),
        st.lists(GRAMMAR_CHARACTERS).map("".join),
        st.lists(GRAMMAR_CHARACTERS).map(lambda s: post("".join(s))),
    ),
    OPTIONS,
)
@example("RT @", {})
@example("@SmoneyFR #envoyer " + "9" * 10_000 + "€ @alice", {})
def test_parse_never_raises(text, options):
    result = GRAMMAR.parse(text, **options)
    if isinstance(result, Rejection):
        assert result.reason in REASONS and result.message
    else:
        assert isinstance(result, TransferIntent)
        assert 0 < result.amount_cents < 10**14
        assert re.fullmatch(r"[A-Za-z0-9_]{1,15}", result.recipient)


@given(well_formed_posts())
@example(
    (
        "@SmoneyFR #envoyer 10,5\u202f€ @alice ",
        {},
        TransferIntent(1050, "EUR", "alice", ""),
        "10,5\u202f€",
    )
)
def test_a_well_formed_post_gives_exactly_its_amount(case):
    text, options, intent, _ = case
    assert GRAMMAR.parse(text, **options) == intent


# An amount is fully understood when it is one of these forms, with
# ASCII digits, no leading zero, at most 12 integer digits and 2 decimals.
STRICT_NUMBER = r"(0|[1-9][0-9]{0,11})(?:[.,]([0-9]{1,2}))?"
EURO_WORD = r"(?ai:eur|euro|euros)"


def understood_amounts(text: str) -> set[int]:
    """Every amount an independent, strict reader sees in text, in cents."""
    words = [word.strip(".,'’") for word in text.split()]
    found = set()

    def value(match):
        return int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))

    for i, word in enumerate(words):
        for pattern in (rf"{STRICT_NUMBER}€", rf"€{STRICT_NUMBER}", rf"{STRICT_NUMBER}{EURO_WORD}"):
            if match := re.fullmatch(pattern, word):
                found.add(value(match))
        if i + 1 < len(words):
            pair = (word, words[i + 1])
            if (match := re.fullmatch(STRICT_NUMBER, pair[0])) and re.fullmatch(
                rf"€|{EURO_WORD}", pair[1]
            ):
                found.add(value(match))
            if (match := re.fullmatch(STRICT_NUMBER, pair[1])) and re.fullmatch(
                r"€|(?ai:eur)", pair[0]
            ):
                found.add(value(match))
    return found - {0}


SPLICE_CHARACTERS = st.sampled_from(list("0123456789012345678900,.'’ \u00a0\u202f-−+eE€$x١٣３²½"))


@st.composite
def nearly_numbers(draw):
    """A plain number with up to two characters slipped in."""
    characters = list(draw(st.from_regex(r"[0-9]{1,4}(?:[.,][0-9]{1,3})?", fullmatch=True)))
    for _ in range(draw(st.integers(0, 2))):
        characters.insert(draw(st.integers(0, len(characters))), draw(SPLICE_CHARACTERS))
    return "".join(characters)


@given(
    st.one_of(st.lists(SPLICE_CHARACTERS, max_size=14).map("".join), nearly_numbers()),
    st.sampled_from(
        [("", "€"), ("", " €"), ("", " euros"), ("", " EUR"), ("€", ""), ("€ ", ""), ("", "")]
    ),
)
@example("1,000", ("", "€"))
@example("1 500", ("", " €"))
@example("10", ("", "€50"))
def test_an_accepted_amount_is_always_fully_understood(spliced, currency):
    before, after = currency
    text = post(f"{before}{spliced}{after} @alice")
    result = GRAMMAR.parse(text)
    if isinstance(result, TransferIntent):
        assert result.amount_cents in understood_amounts(text), (text, result)
        assert result.recipient == "alice"


def mentions(handle: str, text: str) -> bool:
    return (
        re.search(
            rf"(?<![A-Za-z0-9_])[@＠]{handle}(?![A-Za-z0-9_])", text, re.ASCII | re.IGNORECASE
        )
        is not None
    )


@given(well_formed_posts(), st.text(), st.text())
def test_the_memo_never_holds_the_amount_or_the_recipient(case, before, after):
    text, options, intent, amount = case
    full = f"{before} {text} {after}"
    result = GRAMMAR.parse(full, **options)
    assume(isinstance(result, TransferIntent))
    assert result.amount_cents == intent.amount_cents
    assert result.recipient.lower() == intent.recipient.lower()
    assert not mentions(result.recipient, result.memo)
    # The memo is the post's words less the removed ones: each word of the
    # amount is there once fewer than in the post, at least.
    in_post = collections.Counter(html.unescape(full).split())
    in_memo = collections.Counter(result.memo.split())
    for word in amount.split():
        assert in_memo[word] < in_post[word], (word, full, result)


# -- collections ----------------------------------------------------------------

COLLECTIONS = [
    # (text, parse options, amount_cents, recipient, memo)
    (post("5€ #TelethonACF"), {}, 500, "#TelethonACF", ""),
    (post("#TelethonACF 5€ merci !"), {}, 500, "#TelethonACF", "merci !"),
    (post("5€ (#TelethonACF)."), {}, 500, "#TelethonACF", ""),
    (post("5€ #TelethonACF #telethonacf"), {}, 500, "#TelethonACF", ""),  # one, any case
    (post("5€ \uff03Restos_du_Coeur"), {}, 500, "#Restos_du_Coeur", ""),
    ("#envoyer 5€ #TelethonACF", {"direct_message": True}, 500, "#TelethonACF", ""),
    (f"#envoyer 5€ #TelethonACF @{BOT}", {"direct_message": True}, 500, "#TelethonACF", ""),
    # A person mentioned is the recipient; hashtags stay memo text.
    (post("5€ @alice #TelethonACF"), {}, 500, "alice", "#TelethonACF"),
]


@pytest.mark.parametrize("text, options, cents, recipient, memo", COLLECTIONS)
def test_a_hashtag_names_the_collection_when_nobody_is_mentioned(
    text, options, cents, recipient, memo
):
    assert GRAMMAR.parse(text, **options) == TransferIntent(cents, "EUR", recipient, memo)


def test_the_keyword_is_never_a_collection():
    assert GRAMMAR.parse(post("5€ #send")).reason == "MISSING_RECIPIENT"
    assert GRAMMAR.parse(post("5€ #ENVOYER")).reason == "MISSING_RECIPIENT"


# -- conversations with the bot, and people of other networks -------------------

CONVERSATION = Grammar(BOT, bare_keyword=True, qualified_mentions=True, default_namespace="twitter")


@pytest.mark.parametrize(
    "text, recipient, memo",
    [
        ("envoyer 10€ @alice", "twitter:alice", ""),
        ("Send 10€ @alice merci", "twitter:alice", "merci"),
        ("envoyer 10€ @twitter:alice", "twitter:alice", ""),
        ("envoyer 10€ @Twitter:alice.", "twitter:alice", ""),
        ("envoyer 10€ @mastodon:bob😘", "mastodon:bob", ""),
        ("envoyer 10€ @alice @twitter:Alice", "twitter:alice", ""),  # one recipient
        ("#envoyer 10€ @alice", "twitter:alice", ""),  # the hashtag still works
        ("envoyer: 10€ @alice", "twitter:alice", ""),
    ],
)
def test_a_conversation_needs_no_hashtag_and_names_other_networks(text, recipient, memo):
    assert CONVERSATION.parse(text, direct_message=True) == TransferIntent(
        1000, "EUR", recipient, memo
    )


@pytest.mark.parametrize(
    "text, reason",
    [
        ("je veux envoyer 10€ @alice", "MISSING_KEYWORD"),  # only as the first word
        ("envoyer 10€ @twitter:élodie", "INVALID_HANDLE"),
        ("envoyer 10€ @twitter:a-b", "INVALID_HANDLE"),
        ("envoyer 10€ @twitter:alice:bob", "INVALID_HANDLE"),
        ("envoyer 10€ @twitter:" + "x" * 16, "INVALID_HANDLE"),
        ("envoyer 10€ @9net:alice", "INVALID_HANDLE"),
        ("envoyer 10€ @alice @mastodon:alice", "MULTIPLE_RECIPIENTS"),
    ],
)
def test_a_conversation_still_rejects_what_it_cannot_read(text, reason):
    assert CONVERSATION.parse(text, direct_message=True).reason == reason


def test_the_options_are_off_by_default_and_examples_follow_them():
    assert GRAMMAR.parse("envoyer 10€ @alice", direct_message=True).reason == "MISSING_KEYWORD"
    assert GRAMMAR.parse(post("10€ @twitter:alice")).reason == "INVALID_HANDLE"
    plain = Grammar(BOT, qualified_mentions=True)
    assert plain.parse(post("10€ @alice")).recipient == "alice"
    assert plain.parse(post("10€ @twitter:alice")).recipient == "twitter:alice"
    missing = CONVERSATION.parse("envoyer 10€", direct_message=True)
    assert missing.message == "Mention the person to pay, as in: envoyer 10€ @<friend>."
    for options in (
        {"default_namespace": "twitter"},
        {"qualified_mentions": True, "default_namespace": "Twitter"},
    ):
        with pytest.raises(ValueError):
            Grammar(BOT, **options)


@given(
    st.one_of(
        st.text(),
        st.lists(
            st.one_of(GRAMMAR_CHARACTERS, st.sampled_from(["envoyer ", "@twitter:", ":", "@a:"]))
        ).map("".join),
    ),
    OPTIONS,
)
@example("envoyer 10€ @twitter:alice", {"direct_message": True})
def test_a_conversation_grammar_never_raises(text, options):
    result = CONVERSATION.parse(text, **options)
    if isinstance(result, Rejection):
        assert result.reason in REASONS and result.message
    else:
        assert re.fullmatch(r"[a-z][a-z0-9_-]{0,31}:[A-Za-z0-9_]{1,15}|#\w+", result.recipient), (
            result.recipient
        )
