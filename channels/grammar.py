"""The post grammar: `@<bot> #<keyword> <amount> @<recipient>` becomes a
TransferIntent, or a Rejection with a stable reason.

    @SmoneyFR #envoyer 10€ @alice merci pour le resto
    -> TransferIntent(amount_cents=1000, currency="EUR", recipient="alice",
                      memo="merci pour le resto")

The recipient may instead be a collection, named by its hashtag:

    @SmoneyFR #envoyer 5€ #TelethonACF
    -> TransferIntent(amount_cents=500, currency="EUR", recipient="#TelethonACF", memo="")

Reading a post:
- HTML entities are decoded once, with html.unescape, as X sends `&amp;`,
  `&lt;`, `&gt;` and numeric ones (not for a network whose syntax says it
  sends plain text). The text is then split on Unicode
  whitespace into words; `( [ { " ' « “ ‘ ¿ ¡` before a word and
  `. , ; : ! ? ) ] } " ' » ” ’ …` after it are punctuation around it.
- A mention is a word that starts with `@` (or `＠`, or `.@`); its handle
  must follow the network's MentionSyntax (`mentions`, X's by default: 1 to
  15 of A-Z a-z 0-9 _; FEDIVERSE_MENTIONS: `@bob` or `@bob@example.social`),
  ended by the word's end or an emoji (`@alice😘`), else INVALID_HANDLE
  (`@a-b`, `@alice's`, `@élodie` on X).
  An `@` inside a word after a handle character is not a mention (`a@b.com`
  is text); after anything else it is an unreadable mention (`cc:@bob`,
  `10€@bob`: INVALID_HANDLE). A lone `@` is text.
- The bot is addressed by a mention of `bot_handle` (with domains, its local
  part alone too: `@envoi` for `envoi@envoi.social`), anywhere; handles and the
  keyword compare ASCII-case-insensitively. The keyword is a hashtag
  (`#envoyer`) anywhere. In a private message (direct_message=True) the bot's
  mention is not required, and when present it is ignored.
- Every mention other than the bot's is a recipient; exactly one is needed
  (the same handle twice, in any case, is one recipient).
- A collection: when nobody but the bot is mentioned, a hashtag other than
  the keyword names the collection to pay (`recipient` is `#TelethonACF`, as
  written). Its name must be 3 to 50 of A-Z a-z 0-9 _ with a letter, ended by
  the word's end or the punctuation around it, else INVALID_HASHTAG
  (`#Téléthon`, `#a-b`, `#ab`); two different ones (in any case) are
  MULTIPLE_COLLECTIONS. When a person is mentioned, other hashtags stay memo
  text, as before collections (`10€ @alice #merci`).
- The memo is what is left once every bot mention, keyword hashtag, the
  amount and the recipient's mentions are removed (whole words, with the
  punctuation or emoji attached to them), words joined by one space.

Amounts (with the default currency EUR): `10€`, `10 €`, `€10`, `€ 10`,
`10 EUR`, `EUR 10`, `10EUR`, `10 euro`, `10 euros` (currency words in any
case; the space may be any Unicode space, U+00A0 and U+202F included), and a
decimal comma or point with one or two decimals: `10,5€` is 1050 cents,
`0,01€` is 1. Numbers are read with integer arithmetic only. Anything else
that carries digits next to a currency is rejected, never guessed:

    -10€           NEGATIVE_AMOUNT      0€, 0,00€      ZERO_AMOUNT
    1e3€           EXPONENT_NOTATION    ١٠€, １０€       NON_ASCII_DIGITS
    1,000€ 1.000€  AMBIGUOUS_THOUSANDS  (a separator then exactly three digits;
    1 500 €        AMBIGUOUS_THOUSANDS   also ' as a separator, and space-grouped digits)
    10,5555€       TOO_MANY_DECIMALS    010€ 10,€ ,5€ 10€50  INVALID_AMOUNT
    10 € 50, 2 x 10€, - 10€             AMBIGUOUS_AMOUNT (a number, currency,
                                        sign or operator right next to the amount)
    $10, 10 USD, £5                     UNSUPPORTED_CURRENCY
    10 (no currency)                    MISSING_CURRENCY
    10€ 5€, 10€ 2 USD                   MULTIPLE_AMOUNTS
    more than 12 integer digits         AMOUNT_TOO_LARGE

A bare number away from the amount is memo text (`10€ @alice pour 2 pizzas`).

Precedence, first match wins:
 1. RETWEET (is_retweet), QUOTE_TWEET (is_quote), TEXT_TOO_LONG (raw text over
    MAX_TEXT_CHARS), RETWEET (decoded text starts with "RT @")
 2. NOT_ADDRESSED (public post without the bot's mention)
 3. MISSING_KEYWORD
 4. the amount: MULTIPLE_AMOUNTS; MISSING_CURRENCY (a bare number, no amount)
    or MISSING_AMOUNT; then for the one amount: its own reason if it could not
    be read at all (INVALID_AMOUNT, UNSUPPORTED_CURRENCY, AMBIGUOUS_AMOUNT);
    UNSUPPORTED_CURRENCY; AMBIGUOUS_THOUSANDS or AMBIGUOUS_AMOUNT from its
    neighbours; then its number: NON_ASCII_DIGITS, NEGATIVE_AMOUNT,
    EXPONENT_NOTATION, AMBIGUOUS_THOUSANDS, INVALID_AMOUNT, TOO_MANY_DECIMALS,
    INVALID_AMOUNT (leading zero), AMOUNT_TOO_LARGE, ZERO_AMOUNT
 5. the recipient: INVALID_HANDLE, MULTIPLE_RECIPIENTS; with no mention, a
    collection: MULTIPLE_COLLECTIONS, INVALID_HASHTAG; then BOT_AS_RECIPIENT
    (the bot mentioned twice and nobody else), MISSING_RECIPIENT
A request: MIXED_KEYWORDS right after MISSING_KEYWORD, then the amount (4),
then INVALID_HANDLE, MISSING_PAYER, MULTIPLE_PAYERS, SPLIT_NEEDS_TWO,
TOO_MANY_PAYERS, SHARE_TOO_SMALL. A payment with a split keyword:
SPLIT_NOT_A_REQUEST after MIXED_KEYWORDS.

Asking for money (a request, paid only when the payer confirms it with their
code): a request keyword (`#demander`, `#request`) instead of the payment
keyword, and the people asked instead of the recipient:

    @SmoneyFR #demander 10€ @bob le resto
    -> RequestIntent(amount_cents=1000, currency="EUR", payers=("bob",),
                     split=False, memo="le resto")
    @SmoneyFR #demander 30€ @bob @carol #partage
    -> RequestIntent(amount_cents=3000, payers=("bob", "carol"), split=True, ...)

- Every mention other than the bot's is a payer (the same handle twice is
  one). Without a split keyword (`#partage`, `#split`) exactly one is needed
  (MULTIPLE_PAYERS); with it, 2 to MAX_SPLIT_PAYERS people share the amount
  (SPLIT_NEEDS_TWO, TOO_MANY_PAYERS), each at least a cent (SHARE_TOO_SMALL).
- A split shares the amount among the people named, not the requester (who
  asks for what they are owed): RequestIntent.shares_cents() gives each their
  share in integer cents, the first-named paying one cent more until the
  remainder is used up (10€ among 3: 3,34€, 3,33€, 3,33€): the shares always
  add up to the amount, and the requester bears nothing.
- The payment and the request keywords in one post are MIXED_KEYWORDS; a split
  keyword in a payment is SPLIT_NOT_A_REQUEST (only a request is shared).
- Other hashtags stay memo text; no mention is MISSING_PAYER.

Rejection messages are fixed sentences per reason: they name the bot and the
keyword, never echo the post and mention nobody else (the example recipient
is `@<friend>`), so a channel may reply with them in public.

Options for conversations with the bot and for paying people of other
networks (off by default; the Messenger channel turns them on):
- `bare_keyword`: the keyword may also be the text's first word, without its
  `#` (`envoyer 10€ @alice`, `Send 10€ @alice`), as in a conversation that
  is already addressed to the bot. Rejection examples then use that form.
- `qualified_mentions`: `@<namespace>:<handle>` (`@twitter:alice`) is a
  mention of a person of another network; the namespace is 1 to 32 of
  A-Z a-z 0-9 _ - starting with a letter (read in lower case), the handle
  follows that network's syntax when `networks` names it (`{"mastodon":
  FEDIVERSE_MENTIONS}` reads `@mastodon:bob@example.social`), the grammar's
  own otherwise. The recipient is then `twitter:alice`.
- `default_namespace` (with `qualified_mentions`): the network of a plain
  `@alice`, so that it is `twitter:alice` too (and `@alice @twitter:Alice` is
  one recipient). Empty: a plain mention stays `alice`.
The gateway resolves a `namespace:handle` recipient through envoi
(AccountService.ResolveIdentity): only a person who linked that identity.

The text parsed is what the person wrote: the @mentions X puts in front of a
reply (outside display_text_range) would count as recipients, so a channel
removes them first.
"""

import dataclasses
import functools
import html
import re
import string
import types
import typing
import unicodedata

MAX_TEXT_CHARS = 100_000  # X's longest post is 25,000 characters; entities lengthen it
MAX_AMOUNT_INTEGER_DIGITS = 12  # 999 999 999 999,99 at most: never an overflow
MAX_HANDLE_CHARS = 15  # X's; other networks declare theirs in a MentionSyntax
MAX_IDENTITY_HANDLE_CHARS = 64  # what envoi keeps of an identity's handle, domain included
MAX_SPLIT_PAYERS = 10  # people one post may ask to share an amount
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"  # of a domain name
_DOMAIN = rf"{_LABEL}(?:\.{_LABEL})+"


@dataclasses.dataclass(frozen=True)
class MentionSyntax:
    """How a network writes a mention of a person after its `@`: what the
    grammar reads as a handle, and what it rejects as INVALID_HANDLE."""

    network: str = "X"  # as the INVALID_HANDLE message names it
    handle_pattern: str = r"[A-Za-z0-9_]+"  # one handle; its length is checked apart
    max_handle_chars: int = MAX_HANDLE_CHARS  # of the handle, without a domain
    rule: str = "1 to 15 letters, digits or _"  # the handle rule, in the message's words
    # `@user@example.social`, as the fediverse writes a person of another
    # server: the handle is then `user@example.social` (at most 64 characters).
    domains: bool = False
    # The network sends text with HTML entities (X's `&amp;`): decoded once.
    # False for a network whose channel hands over plain text.
    html_entities: bool = True

    def __post_init__(self):
        if re.compile(self.handle_pattern).groups:
            raise ValueError("handle_pattern must not have groups: use (?:...)")
        if not 0 < self.max_handle_chars <= MAX_IDENTITY_HANDLE_CHARS:
            raise ValueError(f"max_handle_chars must be 1 to {MAX_IDENTITY_HANDLE_CHARS}")

    @functools.cached_property
    def _handle(self) -> re.Pattern:
        domain = f"(?:@{_DOMAIN})?" if self.domains else ""
        return re.compile(f"({self.handle_pattern}){domain}")

    def handle_length(self, text: str) -> int:
        """The length of the handle `text` starts with; 0 when it starts with none."""
        match = self._handle.match(text)
        if not match or not 0 < len(match.group(1)) <= self.max_handle_chars:
            return 0
        return match.end() if match.end() <= MAX_IDENTITY_HANDLE_CHARS else 0

    def local_part(self, handle: str) -> str:
        """`user` of `user@example.social`; the handle itself without domains."""
        return handle.partition("@")[0] if self.domains else handle


# X's mentions (the default): `@alice`, 1 to 15 of A-Z a-z 0-9 _.
X_MENTIONS = MentionSyntax()
# The fediverse's (Mastodon): `@alice` on the same server, `@alice@example.social`
# on another; usernames of 1 to 30 letters, digits and _, with . or - inside.
FEDIVERSE_MENTIONS = MentionSyntax(
    network="Mastodon",
    handle_pattern=r"[A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*",
    max_handle_chars=30,
    rule="1 to 30 letters, digits or _, then @ and a server if it is another's",
    domains=True,
    html_entities=False,
)


def keywords_from_env(env) -> tuple[str, ...]:
    """ENVOI_CHANNEL_KEYWORDS: comma-separated payment hashtags, "#" optional."""
    raw = env.get("ENVOI_CHANNEL_KEYWORDS") or "envoyer,send"
    return tuple(k.strip().removeprefix("#") for k in raw.split(",") if k.strip())


REASONS: dict[str, str] = {
    "RETWEET": 'The post is a retweet (flagged as one, or its text starts with "RT @"); '
    "only an original post can send money.",
    "QUOTE_TWEET": "The post quotes another post; only an original post can send money.",
    "TEXT_TOO_LONG": f"The text is longer than {MAX_TEXT_CHARS} characters.",
    "NOT_ADDRESSED": "A public post does not mention the bot.",
    "MISSING_KEYWORD": "The post has no payment hashtag (#envoyer or #send by default).",
    "MISSING_AMOUNT": "The post has no amount.",
    "MISSING_CURRENCY": "The post has a number but no currency next to it.",
    "MULTIPLE_AMOUNTS": "The post has more than one amount.",
    "UNSUPPORTED_CURRENCY": "The amount is in a currency other than the grammar's.",
    "AMBIGUOUS_AMOUNT": "A number, currency, sign or operator right next to the amount makes "
    "it unclear (10 € 50, 2 x 10€, - 10€, € 10 €).",
    "NON_ASCII_DIGITS": "The amount uses digits other than ASCII 0-9 (Arabic-Indic, "
    "full-width, superscript...).",
    "NEGATIVE_AMOUNT": "The amount has a minus sign.",
    "EXPONENT_NOTATION": "The amount is written with an exponent (1e3€).",
    "INVALID_AMOUNT": "The amount is not a plain number with at most two decimals "
    "(10€50, 010€, 10,€, +10€, euros 10).",
    "AMBIGUOUS_THOUSANDS": "A separator (comma, point, apostrophe or space) is followed by "
    "three digits, which may be thousands or decimals (1,000€, 1 500 €).",
    "TOO_MANY_DECIMALS": "The amount has more than two decimals.",
    "AMOUNT_TOO_LARGE": f"The amount has more than {MAX_AMOUNT_INTEGER_DIGITS} integer digits.",
    "ZERO_AMOUNT": "The amount is zero.",
    "INVALID_HANDLE": "A mention is not a valid handle of the channel's network (its "
    "MentionSyntax; on X, 1 to 15 of A-Z a-z 0-9 _).",
    "MULTIPLE_RECIPIENTS": "The post mentions more than one person besides the bot.",
    "MULTIPLE_COLLECTIONS": "The post mentions nobody but has more than one hashtag "
    "besides the keyword: which collection to pay is unclear.",
    "INVALID_HASHTAG": "The hashtag naming the collection is not 3 to 50 of A-Z a-z 0-9 _ "
    "with a letter.",
    "BOT_AS_RECIPIENT": "The only person to pay is the bot itself.",
    "MISSING_RECIPIENT": "The post mentions nobody to pay.",
    "MIXED_KEYWORDS": "The post has both a payment and a request keyword (#envoyer and "
    "#demander by default).",
    "SPLIT_NOT_A_REQUEST": "A payment has a split keyword (#partage); only a request is shared.",
    "MISSING_PAYER": "A request mentions nobody to ask.",
    "MULTIPLE_PAYERS": "A request without a split keyword mentions more than one person.",
    "SPLIT_NEEDS_TWO": "A split request mentions only one person besides the bot.",
    "TOO_MANY_PAYERS": f"A split request mentions more than {MAX_SPLIT_PAYERS} people.",
    "SHARE_TOO_SMALL": "A split request's amount is less than a cent per person.",
}

_MESSAGES = {
    "RETWEET": "A retweet cannot send money; write your own post.",
    "QUOTE_TWEET": "A quote post cannot send money; write your own post.",
    "TEXT_TOO_LONG": "This post is too long to be a payment.",
    "NOT_ADDRESSED": "To send money, mention @{bot}, as in: {example}.",
    "MISSING_KEYWORD": "To send money, add #{keyword}, as in: {example}.",
    "MISSING_AMOUNT": "Add the amount to send, as in: {example}.",
    "MISSING_CURRENCY": "Put the currency next to the amount, like {ten}.",
    "MULTIPLE_AMOUNTS": "Write exactly one amount per post.",
    "UNSUPPORTED_CURRENCY": "Only {currency} can be sent, like {ten}.",
    "AMBIGUOUS_AMOUNT": "Write the amount on its own, like {ten} or {ten_fifty}, "
    "with no other number or sign next to it.",
    "NON_ASCII_DIGITS": "Write the amount with the digits 0 to 9, like {ten}.",
    "NEGATIVE_AMOUNT": "The amount must be positive.",
    "EXPONENT_NOTATION": "Write the amount in full, like {thousand}.",
    "INVALID_AMOUNT": "The amount is not understood; write it like {ten} or {ten_fifty}.",
    "AMBIGUOUS_THOUSANDS": "Write thousands without separators, like {thousand}, "
    "and cents with one or two digits, like {ten_fifty}.",
    "TOO_MANY_DECIMALS": "The amount can have at most two decimals, like {ten_fifty}.",
    "AMOUNT_TOO_LARGE": "The amount is too large.",
    "ZERO_AMOUNT": "The amount must be more than zero.",
    "INVALID_HANDLE": "A mention is not a valid {network} handle ({rule}).",
    "MULTIPLE_RECIPIENTS": "Send to one person per post.",
    "MULTIPLE_COLLECTIONS": "Pay one collection per post, as in: {collection_example}.",
    "INVALID_HASHTAG": "A collection's hashtag has 3 to 50 letters, digits or _, "
    "as in: {collection_example}.",
    "BOT_AS_RECIPIENT": "@{bot} cannot receive money; mention the person to pay.",
    "MISSING_RECIPIENT": "Mention the person to pay, as in: {example}.",
    "MIXED_KEYWORDS": "Send with #{keyword} or ask with #{request_keyword}, not both at once.",
    "SPLIT_NOT_A_REQUEST": "Only a request is shared, as in: {split_example}.",
    "MISSING_PAYER": "Mention the person to ask, as in: {request_example}.",
    "MULTIPLE_PAYERS": "Ask one person per post, or add #{split} to share the amount.",
    "SPLIT_NEEDS_TWO": "#{split} shares the amount among the people you name: name two or more.",
    "TOO_MANY_PAYERS": f"Share an amount among at most {MAX_SPLIT_PAYERS} people per post.",
    "SHARE_TOO_SMALL": "Each person's share must be at least one cent.",
}
assert _MESSAGES.keys() == REASONS.keys()


@dataclasses.dataclass(frozen=True)
class TransferIntent:
    amount_cents: int
    currency: str  # ISO 4217, the grammar's currency
    # The handle without "@", as written in the post; or a collection's
    # hashtag with its "#" ("#TelethonACF").
    recipient: str
    memo: str  # the words left around the command, one space apart; "" if none


@dataclasses.dataclass(frozen=True)
class RequestIntent:
    """A request for money: each payer is asked for their share, and pays it
    only by confirming with their code."""

    amount_cents: int  # in all: what the requester asks for
    currency: str  # ISO 4217, the grammar's currency
    payers: tuple[str, ...]  # handles without "@", as first written, in order
    split: bool  # the amount is shared among the payers (`#partage`)
    memo: str  # the words left around the command, one space apart; "" if none

    def shares_cents(self) -> tuple[int, ...]:
        """Each payer's share, in order: equal, the first-named paying one cent
        more until the remainder is used up; they add up to amount_cents."""
        if not self.split:
            return (self.amount_cents,)
        share, remainder = divmod(self.amount_cents, len(self.payers))
        return tuple(share + (i < remainder) for i in range(len(self.payers)))


@dataclasses.dataclass(frozen=True)
class Rejection:
    reason: str  # a key of REASONS
    message: str  # one sentence for the person who posted


# Currencies the grammar recognises: (symbol, words). The grammar's own
# currency is accepted with its symbol, its code and its words, in any case;
# the others are recognised only to reject them as UNSUPPORTED_CURRENCY, their
# codes in capitals only (so "cad", French for "that is", stays a word).
_CURRENCIES = {
    "EUR": ("€", ("euro", "euros")),
    "USD": ("$", ("dollar", "dollars")),
    "GBP": ("£", ("pound", "pounds")),
    "JPY": ("¥", ()),
    "CHF": ("", ()),
    "CAD": ("", ()),
    "AUD": ("", ()),
    "CNY": ("", ()),
    "BTC": ("", ()),
    "XOF": ("", ()),
    "MAD": ("", ()),
    "TND": ("", ()),
    "DZD": ("", ()),
}
_ASCII_FOLD = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_HANDLE_CHARS = frozenset(string.ascii_letters + string.digits + "_")
# A collection's name: what the core accepts (core/collection_ledger.py).
_COLLECTION_HASHTAG = re.compile(r"(?=[A-Za-z0-9_]*[A-Za-z])[A-Za-z0-9_]{3,50}")
_QUALIFIED_NAMESPACE = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,31}):")
_NAMESPACE = re.compile(r"[a-z][a-z0-9_-]{0,31}")  # envoi's identity namespaces
_AT_SIGNS = "@\uff20"
_HASH_SIGNS = "#\uff03"
_LEADING = "([{\"'«“‘¿¡"
_TRAILING = ".,;:!?)]}\"'»”’…"
_WORD = re.compile(r"\S+")
_RETWEET = re.compile(r"\s*RT\s+[@\uff20]")
_URL = re.compile(r"(?:https?://|www\.)", re.ASCII | re.IGNORECASE)
# What a bare number looks like, in any script, before it is read strictly.
_NUMBERISH = re.compile(r"[+\-\u2212\u2010-\u2013]?[.,]?\d[\d.,'’]*(?:[eE][+\-\u2212]?\d+)?")
_EXPONENT = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+\-\u2212]?[0-9]+")
_GROUPED = re.compile(r"[0-9]+(?:[.,'’][0-9]+)+")
_GROUP_SEPARATOR = re.compile(r"[.,'’]")
_PLAIN = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
_MINUS_SIGNS = "-\u2212\u2010\u2011\u2012\u2013"
# Words that, next to an amount, may change it: `2 x 10€`, `- 10€`, `10€ x2`.
_OPERATORS = frozenset("x X × * / + - − ‐ ‑ – = ~ ≈ ± ÷".split())
_MULTIPLIER = re.compile(r"[xX×*/][0-9]+|[0-9]+[xX×*/]")
_THOUSANDS_HEAD = re.compile(r"[0-9]{1,3}")  # 1 500: the digits before the space
_THOUSANDS_TAIL = re.compile(r"[0-9]{3}(?:[.,][0-9]*)?")  # and the three after it


class _CurrencyNames(typing.NamedTuple):
    symbol: str  # the grammar's currency: "€", or "" for none
    code: str  # its code, ASCII-folded: eur
    words: frozenset  # its words, ASCII-folded: euro euros
    other_codes: frozenset  # the other currencies' codes, in capitals
    other_words: frozenset  # the other currencies' words, folded
    glued: re.Pattern  # any currency name glued to a digit
    other_glued: re.Pattern  # another currency's name glued to a digit


@functools.lru_cache(maxsize=None)
def _currency_names(currency: str) -> _CurrencyNames:
    symbol, words = _CURRENCIES.get(currency, ("", ()))
    other_codes = {code for code in _CURRENCIES if code != currency}
    other_words = {word for code, (_, ws) in _CURRENCIES.items() if code != currency for word in ws}

    def glued(names, codes):
        # (?i) on ASCII only: no Kelvin sign for k, no long s for s.
        after = "|".join(sorted(names, key=len, reverse=True))
        before = "|".join(sorted(codes))
        return re.compile(rf"\d(?ai:{after})|(?:{before})\d")

    folded_codes = {_fold(code) for code in other_codes}
    return _CurrencyNames(
        symbol,
        _fold(currency),
        frozenset(words),
        frozenset(other_codes),
        frozenset(other_words),
        glued({_fold(currency), *words, *folded_codes, *other_words}, {currency, *other_codes}),
        glued({*folded_codes, *other_words}, other_codes),
    )


def _fold(text: str) -> str:
    """ASCII-only case folding: `K` (Kelvin sign) and `ſ` stay themselves."""
    return text.translate(_ASCII_FOLD)


@dataclasses.dataclass
class _Word:
    raw: str  # as written, with its punctuation
    core: str  # without the punctuation around it
    kind: str  # mention bad_mention hashtag currency number amount bad_amount text
    own: bool = True  # currency, amount: the grammar's currency, not another
    prefix: bool = False  # currency: may stand before the number (a symbol or a code);
    # amount: the currency stands before the number (€10)
    keyword: bool = False  # hashtag: one of the grammar's keywords
    number: str = ""  # amount, number: the digits as written
    reason: str = ""  # bad_amount: why it cannot be read
    open_left: bool = True  # nothing was stripped before the core
    open_right: bool = True  # nothing was stripped after the core


@dataclasses.dataclass
class _Amount:
    first: int  # index of its first word
    last: int  # index of its last word
    number: str = ""
    own: bool = True
    prefix: bool = False  # the currency comes first (€ 10)
    reason: str = ""  # set when the amount cannot be read at all


def _read_number(number: str) -> int | str:
    """Cents, or the reason the digits are refused. Integer arithmetic only."""
    if any(ch.isnumeric() and ch not in string.digits for ch in number):
        return "NON_ASCII_DIGITS"
    if number[:1] in _MINUS_SIGNS:
        return "NEGATIVE_AMOUNT"
    if _EXPONENT.fullmatch(number):
        return "EXPONENT_NOTATION"
    if _GROUPED.fullmatch(number) and any(
        len(group) == 3 for group in _GROUP_SEPARATOR.split(number)[1:]
    ):
        return "AMBIGUOUS_THOUSANDS"
    plain = _PLAIN.fullmatch(number)
    if not plain:
        return "INVALID_AMOUNT"
    units, decimals = plain.group(1), plain.group(2) or ""
    if len(decimals) > 2:
        return "TOO_MANY_DECIMALS"
    if len(units) > 1 and units[0] == "0":
        return "INVALID_AMOUNT"
    if len(units) > MAX_AMOUNT_INTEGER_DIGITS:
        return "AMOUNT_TOO_LARGE"
    cents = int(units) * 100 + int(decimals.ljust(2, "0"))
    return cents if cents > 0 else "ZERO_AMOUNT"


@dataclasses.dataclass(frozen=True)
class Grammar:
    bot_handle: str  # e.g. "SmoneyFR", without "@"
    keywords: tuple[str, ...] = ("envoyer", "send")  # without "#", any case
    # Asking for money (a RequestIntent), and sharing it among several people.
    request_keywords: tuple[str, ...] = ("demander", "request")
    split_keywords: tuple[str, ...] = ("partage", "split")
    currency: str = "EUR"  # ISO 4217
    # A conversation with the bot: `envoyer 10€ @alice`, the keyword's "#" optional
    # on the first word.
    bare_keyword: bool = False
    # `@twitter:alice` names a person of another network (recipient "twitter:alice").
    qualified_mentions: bool = False
    # With qualified_mentions: the network of a plain `@alice` ("" keeps it plain).
    default_namespace: str = ""
    # How this network writes mentions (X's by default).
    mentions: MentionSyntax = X_MENTIONS
    # With qualified_mentions: how other networks write theirs, by namespace
    # (`{"mastodon": FEDIVERSE_MENTIONS}` reads `@mastodon:bob@example.social`);
    # a namespace not listed is read with `mentions`.
    networks: typing.Mapping[str, MentionSyntax] = dataclasses.field(
        default_factory=dict, hash=False
    )

    def __post_init__(self):
        object.__setattr__(self, "keywords", tuple(self.keywords))
        object.__setattr__(self, "request_keywords", tuple(self.request_keywords))
        object.__setattr__(self, "split_keywords", tuple(self.split_keywords))
        object.__setattr__(self, "networks", types.MappingProxyType(dict(self.networks)))
        bot_handle = self.bot_handle or ""
        if not bot_handle or self.mentions.handle_length(bot_handle) != len(bot_handle):
            raise ValueError(
                f"bot handle {self.bot_handle!r} is not a {self.mentions.network} handle "
                f"({self.mentions.rule}; without @)"
            )
        for namespace in self.networks:
            if not _NAMESPACE.fullmatch(namespace):
                raise ValueError(f"network namespace {namespace!r} is not 1 to 32 of a-z 0-9 _ -")
        if not self.keywords or not self.request_keywords or not self.split_keywords:
            raise ValueError("the grammar needs at least one keyword of each kind")
        every = [_fold(k) for k in (*self.keywords, *self.request_keywords, *self.split_keywords)]
        if len(set(every)) != len(every):
            raise ValueError("a keyword is of one kind only: payment, request or split")
        for keyword in (*self.keywords, *self.request_keywords, *self.split_keywords):
            if not keyword or keyword[0] in _HASH_SIGNS or any(ch.isspace() for ch in keyword):
                raise ValueError(f"keyword {keyword!r} must be one word, without #")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"currency {self.currency!r} is not an ISO 4217 code")
        if self.default_namespace and not (
            self.qualified_mentions and _NAMESPACE.fullmatch(self.default_namespace)
        ):
            raise ValueError(
                f"default namespace {self.default_namespace!r} needs qualified_mentions and "
                "1 to 32 of a-z 0-9 _ - starting with a letter"
            )

    # -- the parse ---------------------------------------------------------

    def parse(
        self,
        text: str,
        *,
        direct_message: bool = False,
        is_retweet: bool = False,
        is_quote: bool = False,
    ) -> "TransferIntent | RequestIntent | Rejection":
        if is_retweet:
            return self._reject("RETWEET")
        if is_quote:
            return self._reject("QUOTE_TWEET")
        if len(text) > MAX_TEXT_CHARS:
            return self._reject("TEXT_TOO_LONG")
        if self.mentions.html_entities:
            text = html.unescape(text)
        if _RETWEET.match(text):
            return self._reject("RETWEET")
        words = [self._word(match.group()) for match in _WORD.finditer(text)]
        bot_mentions = {
            i for i, w in enumerate(words) if w.kind == "mention" and self._is_bot(w.core[1:])
        }
        if not direct_message and not bot_mentions:
            return self._reject("NOT_ADDRESSED")
        keyword_tags = self._keyword_tags(words, self.keywords)
        request_tags = self._keyword_tags(words, self.request_keywords)
        split_tags = self._keyword_tags(words, self.split_keywords, bare=False)
        if not keyword_tags and not request_tags:
            return self._reject("MISSING_KEYWORD")
        if keyword_tags and request_tags:
            return self._reject("MIXED_KEYWORDS")
        if keyword_tags and split_tags:
            return self._reject("SPLIT_NOT_A_REQUEST")
        amount = self._amount(words)
        if isinstance(amount, str):
            return self._reject(amount)
        cents = _read_number(amount.number)
        if isinstance(cents, str):
            return self._reject(cents)
        if request_tags:
            used = {
                *bot_mentions,
                *request_tags,
                *split_tags,
                *range(amount.first, amount.last + 1),
            }
            return self._request(words, used, cents, split=bool(split_tags))
        payee = self._payee(words, bot_mentions)
        if isinstance(payee, str):
            return self._reject(payee)
        recipient, recipient_at = payee
        used = {*bot_mentions, *keyword_tags, *range(amount.first, amount.last + 1), *recipient_at}
        return TransferIntent(
            amount_cents=cents,
            currency=self.currency,
            recipient=recipient,
            memo=" ".join(w.raw for i, w in enumerate(words) if i not in used),
        )

    def _keyword_tags(self, words: list[_Word], keywords, *, bare: bool = True) -> set[int]:
        """Indexes of the hashtags of these keywords, or of a bare one first in a
        conversation."""
        folded = {_fold(k) for k in keywords}
        keyword_tags = {
            i for i, w in enumerate(words) if w.kind == "hashtag" and _fold(w.core[1:]) in folded
        }
        if not keyword_tags and bare and self.bare_keyword and words and words[0].kind == "text":
            if _fold(words[0].core) in folded:
                keyword_tags = {0}
        return keyword_tags

    def _request(
        self, words: list[_Word], used: set[int], cents: int, *, split: bool
    ) -> "RequestIntent | Rejection":
        """The people a request asks (every mention but the bot's), or why not."""
        if any(w.kind == "bad_mention" for w in words):
            return self._reject("INVALID_HANDLE")
        payers = {}  # folded handle -> the handle as first written
        for i, w in enumerate(words):
            if w.kind == "mention" and i not in used:
                payers.setdefault(_fold(self._recipient(w)), self._recipient(w))
                used.add(i)
        reason = (
            (not payers and "MISSING_PAYER")
            or (not split and len(payers) > 1 and "MULTIPLE_PAYERS")
            or (split and len(payers) < 2 and "SPLIT_NEEDS_TWO")
            or (len(payers) > MAX_SPLIT_PAYERS and "TOO_MANY_PAYERS")
            or (cents < len(payers) and "SHARE_TOO_SMALL")
        )
        if reason:
            return self._reject(reason)
        return RequestIntent(
            amount_cents=cents,
            currency=self.currency,
            payers=tuple(payers.values()),
            split=split,
            memo=" ".join(w.raw for i, w in enumerate(words) if i not in used),
        )

    def _payee(self, words: list[_Word], bot_mentions: set[int]) -> "tuple[str, list[int]] | str":
        """(recipient, indexes of the words naming it), or why nobody can be paid."""
        if any(w.kind == "bad_mention" for w in words):
            return "INVALID_HANDLE"
        recipients = {}  # folded handle -> indexes of its mentions
        for i, w in enumerate(words):
            if w.kind == "mention" and i not in bot_mentions:
                recipients.setdefault(_fold(self._recipient(w)), []).append(i)
        if len(recipients) > 1:
            return "MULTIPLE_RECIPIENTS"
        if recipients:
            (recipient_at,) = recipients.values()
            return self._recipient(words[recipient_at[0]]), recipient_at
        return _collection(words, bot_mentions)

    def _is_bot(self, handle: str) -> bool:
        """The bot's handle; with domains, its local part alone too (`@envoi`, as
        a person of the bot's own server writes it)."""
        bot = _fold(self.bot_handle)
        return _fold(handle) in (bot, _fold(self.mentions.local_part(self.bot_handle)))

    def _recipient(self, mention: _Word) -> str:
        """alice, or twitter:alice (qualified, or in the default namespace)."""
        handle = mention.core[1:]
        if ":" in handle or not self.default_namespace:
            return handle
        return f"{self.default_namespace}:{handle}"

    def _reject(self, reason: str) -> Rejection:
        symbol = _CURRENCIES.get(self.currency, ("", ()))[0]

        def money(number):
            return f"{number}{symbol}" if symbol else f"{number} {self.currency}"

        keyword, request_keyword = self.keywords[0], self.request_keywords[0]
        # In a conversation with the bot, the short form: `envoyer 10€ @<friend>`.
        command = keyword if self.bare_keyword else f"@{self.bot_handle} #{keyword}"
        ask = request_keyword if self.bare_keyword else f"@{self.bot_handle} #{request_keyword}"
        split = self.split_keywords[0]
        return Rejection(
            reason,
            _MESSAGES[reason].format(
                network=self.mentions.network,
                rule=self.mentions.rule,
                bot=self.bot_handle,
                keyword=keyword,
                currency=self.currency,
                ten=money("10"),
                ten_fifty=money("10,50"),
                thousand=money("1000"),
                example=f"{command} {money('10')} @<friend>",
                collection_example=f"{command} {money('5')} #<collection>",
                request_keyword=request_keyword,
                split=split,
                request_example=f"{ask} {money('10')} @<friend>",
                split_example=f"{ask} {money('30')} @<friend> @<friend> #{split}",
            ),
        )

    # -- words ---------------------------------------------------------------

    def _currency(self, text: str) -> tuple[bool, bool] | None:
        """(own, may stand before the number) when text names a currency."""
        names = _currency_names(self.currency)
        folded = _fold(text)
        if (names.symbol and text == names.symbol) or folded == names.code:
            return True, True
        if folded in names.words:
            return True, False
        if len(text) == 1 and unicodedata.category(text) == "Sc":
            return False, True
        if text in names.other_codes:
            return False, True
        if folded in names.other_words:
            return False, False
        return None

    def _word(self, raw: str) -> _Word:
        core = raw.lstrip(_LEADING)
        open_left = len(core) == len(raw)
        stripped = core.rstrip(_TRAILING)
        open_right = len(stripped) == len(core)
        word = _Word(raw, stripped, "text", open_left=open_left, open_right=open_right)
        core = stripped
        if not core or _URL.match(core):
            return word
        if core[0] == "." and len(core) > 1 and core[1] in _AT_SIGNS:  # .@alice: a public reply
            core = word.core = core[1:]
            word.open_left = False
        if core[0] in _AT_SIGNS:
            if len(core) > 1:  # a lone @ is text
                mention = self._mention(core[1:])
                word.kind = "mention" if mention else "bad_mention"
                word.core = f"@{mention}" if mention else core
            return word
        if any(
            ch in _AT_SIGNS and core[i - 1] not in _HANDLE_CHARS
            for i, ch in enumerate(core)
            if i > 0
        ):
            word.kind = "bad_mention"
            return word
        if core[0] in _HASH_SIGNS and len(core) > 1:
            word.kind = "hashtag"
            word.keyword = _fold(core[1:]) in {_fold(k) for k in self.keywords}
            return word
        currency = self._currency(core)
        if currency:
            word.kind = "currency"
            word.own, word.prefix = currency
            return word
        if any(ch.isnumeric() for ch in core):
            self._numeric_word(word)
        return word

    def _mention(self, text: str) -> str | None:
        """The handle a mention names (`alice`, `alice@example.social`, or
        `twitter:alice` with qualified_mentions; namespaces in lower case),
        or None when it is unreadable. An emoji may end it (`@alice😘`)."""
        syntax, namespace = self.mentions, ""
        qualified = self.qualified_mentions and _QUALIFIED_NAMESPACE.match(text)
        if qualified:  # @twitter:alice, read with that network's syntax
            namespace = _fold(qualified.group(1))
            syntax = self.networks.get(namespace, self.mentions)
            text = text[qualified.end() :]
        length = syntax.handle_length(text)
        tail = text[length:]
        if not length or (
            tail and (unicodedata.category(tail[0]) != "So" or any(ch in _AT_SIGNS for ch in tail))
        ):
            return None
        return f"{namespace}:{text[:length]}" if namespace else text[:length]

    def _numeric_word(self, word: _Word) -> None:
        """A word with digits: an amount (10€, €10, 10euros), a malformed
        amount, a bare number, or text (14h30, 2e)."""
        core = word.core
        prefix = core[0] if unicodedata.category(core[0]) == "Sc" else ""
        rest = core[len(prefix) :]
        suffix = ""
        if rest and unicodedata.category(rest[-1]) == "Sc":
            suffix = rest[-1]
        elif letters := re.search(r"[A-Za-z]+$", rest):
            if self._currency(letters.group()):
                suffix = letters.group()
        number = rest[: len(rest) - len(suffix)]
        markers = [self._currency(m) for m in (prefix, suffix) if m]
        if markers:
            own = all(m[0] for m in markers)
            if len(markers) == 2:
                word.kind, word.reason = (
                    "bad_amount",
                    "INVALID_AMOUNT" if own else "UNSUPPORTED_CURRENCY",
                )
            else:
                word.kind, word.own, word.number = "amount", own, number
                word.prefix = bool(prefix)
            return
        symbols = [ch for ch in core if unicodedata.category(ch) == "Sc"]
        if symbols or self._glued_currency(core):
            own = all(
                self._currency(ch) == (True, True) for ch in symbols
            ) and not self._glued_currency(core, foreign_only=True)
            word.kind, word.reason = (
                "bad_amount",
                "INVALID_AMOUNT" if own else "UNSUPPORTED_CURRENCY",
            )
        elif _NUMBERISH.fullmatch(core):
            word.kind, word.number = "number", core

    def _glued_currency(self, core: str, foreign_only: bool = False) -> bool:
        """A currency name glued to digits inside a word: 2euros50, 5usd, EUR10
        (a name after a digit in any case; a code before one in capitals only,
        so Euro2024 stays a word)."""
        names = _currency_names(self.currency)
        pattern = names.other_glued if foreign_only else names.glued
        return pattern.search(core) is not None

    # -- the amount ----------------------------------------------------------

    def _amount(self, words: list[_Word]) -> "_Amount | str":
        """The one amount of the post, or why there is none that can be paid."""
        amounts = _amounts(words)
        if len(amounts) > 1:
            return "MULTIPLE_AMOUNTS"
        if not amounts:
            return (
                "MISSING_CURRENCY" if any(w.kind == "number" for w in words) else "MISSING_AMOUNT"
            )
        (amount,) = amounts
        if amount.reason:
            return amount.reason
        if not amount.own:
            return "UNSUPPORTED_CURRENCY"
        return _ambiguity(words, amount) or amount


def _amounts(words: list[_Word]) -> list[_Amount]:
    """Every amount of the post: a word (10€), or a currency beside a number (10 €)."""
    amounts: list[_Amount] = []
    for i, w in enumerate(words):
        if w.kind == "amount":
            amount = _Amount(i, i, w.number, w.own, prefix=w.prefix)
        elif w.kind == "bad_amount":
            amount = _Amount(i, i, reason=w.reason)
        elif w.kind == "currency":
            amount = _around_currency(words, i)
        else:
            amount = None
        if amount is None:
            continue
        if amounts and amounts[-1].last >= amount.first:  # € 10 €
            amount = _Amount(amounts.pop().first, amount.last, reason="AMBIGUOUS_AMOUNT")
        amounts.append(amount)
    return amounts


def _around_currency(words: list[_Word], i: int) -> "_Amount | None":
    """The amount a currency word makes with the number beside it, if any."""
    w = words[i]
    before = words[i - 1] if i > 0 else None
    after = words[i + 1] if i + 1 < len(words) else None
    left = before is not None and before.kind == "number" and before.open_right and w.open_left
    right = after is not None and after.kind == "number" and w.open_right and after.open_left
    if left and right:
        return _Amount(i - 1, i + 1, reason="AMBIGUOUS_AMOUNT")
    if left:
        return _Amount(i - 1, i, before.number, w.own)
    if right:
        reason = "" if w.prefix or not w.own else "INVALID_AMOUNT"
        return _Amount(i, i + 1, after.number, w.own, prefix=True, reason=reason)
    return None


def _ambiguity(words: list[_Word], amount: _Amount) -> str:
    """Why the words beside the amount make it ambiguous, or ""."""
    before = words[amount.first - 1] if amount.first > 0 else None
    after = words[amount.last + 1] if amount.last + 1 < len(words) else None
    # 1 500 €, € 1 500: digits grouped by a space.
    if (
        before is not None
        and before.kind == "number"
        and not amount.prefix
        and _THOUSANDS_HEAD.fullmatch(before.core)
        and _THOUSANDS_TAIL.fullmatch(amount.number)
    ):
        return "AMBIGUOUS_THOUSANDS"
    if (
        after is not None
        and after.kind == "number"
        and amount.prefix
        and _THOUSANDS_HEAD.fullmatch(amount.number)
        and _THOUSANDS_TAIL.fullmatch(after.core)
    ):
        return "AMBIGUOUS_THOUSANDS"
    for neighbour in (before, after):
        if neighbour is not None and (
            neighbour.kind in ("number", "currency")
            or neighbour.core in _OPERATORS
            or (neighbour.kind == "text" and _MULTIPLIER.fullmatch(neighbour.core))
        ):
            return "AMBIGUOUS_AMOUNT"
    return ""


def _collection(words: list[_Word], bot_mentions: set[int]) -> "tuple[str, list[int]] | str":
    """Nobody mentioned: the collection a hashtag names, if there is one."""
    collections = {}  # folded name -> indexes of its hashtags
    for i, w in enumerate(words):
        if w.kind == "hashtag" and not w.keyword:
            collections.setdefault(_fold(w.core[1:]), []).append(i)
    if len(collections) > 1:
        return "MULTIPLE_COLLECTIONS"
    if not collections:
        return "BOT_AS_RECIPIENT" if len(bot_mentions) > 1 else "MISSING_RECIPIENT"
    (recipient_at,) = collections.values()
    name = words[recipient_at[0]].core[1:]
    if not _COLLECTION_HASHTAG.fullmatch(name):
        return "INVALID_HASHTAG"
    return "#" + name, recipient_at
