"""The post grammar's requests (`#demander`, `#partage`): what a request post
asks of whom, and the shares of a split, always in integer cents that add up
to the amount asked."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from envoi.channels.grammar import MAX_SPLIT_PAYERS, Grammar, Rejection, RequestIntent

BOT = "SmoneyFR"
GRAMMAR = Grammar(BOT)
CONVERSATION = Grammar(
    "envoi", bare_keyword=True, qualified_mentions=True, default_namespace="twitter"
)


@pytest.mark.parametrize(
    "text, cents, payers, split, memo",
    [
        (f"@{BOT} #demander 10€ @bob", 1000, ("bob",), False, ""),
        (f"@{BOT} #demander 10€ @bob le resto", 1000, ("bob",), False, "le resto"),
        (f"#Request @{BOT} €12,50 @Bob merci", 1250, ("Bob",), False, "merci"),
        (f"@{BOT} #demander 30€ @bob @carol #partage", 3000, ("bob", "carol"), True, ""),
        (f"@{BOT} #demander 30€ #partage @bob @carol pizza", 3000, ("bob", "carol"), True, "pizza"),
        # The same person twice (in any case) is asked once.
        (f"@{BOT} #demander 30€ @bob @carol @BOB #split", 3000, ("bob", "carol"), True, ""),
        # Other hashtags stay memo text: a request never names a collection.
        (f"@{BOT} #demander 10€ @bob #resto", 1000, ("bob",), False, "#resto"),
    ],
)
def test_a_request_post(text, cents, payers, split, memo):
    assert GRAMMAR.parse(text) == RequestIntent(cents, "EUR", payers, split, memo)


def test_a_request_in_a_conversation():
    assert CONVERSATION.parse("demander 10€ @bob", direct_message=True) == RequestIntent(
        1000, "EUR", ("twitter:bob",), False, ""
    )
    split = CONVERSATION.parse("demander 10€ @bob @mastodon:carol #partage", direct_message=True)
    assert split.payers == ("twitter:bob", "mastodon:carol") and split.split
    # In a conversation too, the split needs its hashtag: a bare word is memo text.
    refused = CONVERSATION.parse("demander 10€ @bob @carol partage", direct_message=True)
    assert refused.reason == "MULTIPLE_PAYERS"
    assert "#partage" in refused.message and refused.message.startswith("Ask one person")


@pytest.mark.parametrize(
    "cents, people, shares",
    [
        (3000, 2, (1500, 1500)),
        (1000, 3, (334, 333, 333)),
        (1001, 3, (334, 334, 333)),
        (2, 2, (1, 1)),
        (1999, 10, (200,) * 9 + (199,)),
    ],
)
def test_the_first_named_pay_the_remainder_cents(cents, people, shares):
    payers = tuple(f"p{n}" for n in range(people))
    assert RequestIntent(cents, "EUR", payers, True, "").shares_cents() == shares


@given(
    cents=st.integers(min_value=1, max_value=10**14),
    people=st.integers(min_value=2, max_value=MAX_SPLIT_PAYERS),
)
def test_shares_add_up_and_differ_by_a_cent_at_most(cents, people):
    if cents < people:
        return
    shares = RequestIntent(cents, "EUR", tuple(map(str, range(people))), True, "").shares_cents()
    assert sum(shares) == cents and len(shares) == people
    assert max(shares) - min(shares) <= 1 and min(shares) >= 1
    assert list(shares) == sorted(shares, reverse=True)


def test_a_single_request_asks_the_whole_amount():
    assert GRAMMAR.parse(f"@{BOT} #demander 10€ @bob").shares_cents() == (1000,)


def test_keywords_are_configuration_and_of_one_kind():
    grammar = Grammar(BOT, request_keywords=("ask",), split_keywords=("share",))
    assert grammar.parse(f"@{BOT} #ask 4€ @a @b #share").shares_cents() == (200, 200)
    assert isinstance(grammar.parse(f"@{BOT} #demander 4€ @a"), Rejection)
    with pytest.raises(ValueError):
        Grammar(BOT, request_keywords=("envoyer",))
    with pytest.raises(ValueError):
        Grammar(BOT, split_keywords=())
