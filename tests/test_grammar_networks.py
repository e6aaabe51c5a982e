"""The grammar on networks other than X: each channel declares how its network
writes mentions (a MentionSyntax), and the shared grammar keeps every other
rule. X's syntax is the default, so tests/test_grammar.py covers it."""

import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from envoi.channels.grammar import (
    FEDIVERSE_MENTIONS,
    REASONS,
    X_MENTIONS,
    Grammar,
    MentionSyntax,
    Rejection,
    TransferIntent,
)

BOT = "envoi@envoi.social"
FEDIVERSE = Grammar(BOT, mentions=FEDIVERSE_MENTIONS)


@pytest.mark.parametrize(
    "text, recipient, memo",
    [
        ("@envoi@envoi.social #envoyer 10€ @bob@example.social", "bob@example.social", ""),
        ("@envoi #envoyer 10€ @bob", "bob", ""),  # the bot's local part: its own server
        ("@Envoi@Envoi.Social #envoyer 10€ @bob", "bob", ""),
        ("@envoi #envoyer 10€ @bob.smith-jr", "bob.smith-jr", ""),
        ("@envoi #envoyer 10€ @" + "b" * 30, "b" * 30, ""),
        ("@envoi #envoyer 10€ (@bob@example.social).", "bob@example.social", ""),
        ("@envoi #envoyer 10€ @bob@example.social😘 merci", "bob@example.social", "merci"),
        ("@envoi #envoyer 10€ @bob fish &amp; chips", "bob", "fish &amp; chips"),  # plain text
        (
            "@envoi #envoyer 10€ @bob écris à bob@example.social",
            "bob",
            "écris à bob@example.social",
        ),
    ],
)
def test_a_fediverse_grammar_reads_its_network_s_mentions(text, recipient, memo):
    assert FEDIVERSE.parse(text) == TransferIntent(1000, "EUR", recipient, memo)


@pytest.mark.parametrize(
    "text",
    [
        "@envoi #envoyer 10€ @" + "b" * 31,  # over 30 characters
        "@envoi #envoyer 10€ @bob@localhost",  # a server is a domain name
        "@envoi #envoyer 10€ @bob@example.social@evil.example",
        "@envoi #envoyer 10€ @bob@-example.social",
        "@envoi #envoyer 10€ @bob@" + "a" * 60 + ".social",  # past envoi's 64 characters
        "@envoi #envoyer 10€ @.bob",
        "@envoi #envoyer 10€ @bob_@",
        "@envoi #envoyer 10€ @élodie",
    ],
)
def test_a_fediverse_grammar_rejects_what_is_no_handle_there(text):
    rejected = FEDIVERSE.parse(text)
    assert rejected.reason == "INVALID_HANDLE"
    assert rejected.message.startswith("A mention is not a valid Mastodon handle (1 to 30 ")


def test_the_x_grammar_is_unchanged_by_the_new_syntax():
    x = Grammar("SmoneyFR")
    assert x.mentions == X_MENTIONS
    rejected = x.parse("@SmoneyFR #envoyer 10€ @bob@example.social")
    assert rejected.reason == "INVALID_HANDLE"
    assert rejected.message == "A mention is not a valid X handle (1 to 15 letters, digits or _)."
    assert x.parse("@SmoneyFR #envoyer 10€ @alice &amp; co").memo == "& co"  # X's entities


def test_a_mention_of_another_server_s_envoi_is_not_the_bot():
    assert FEDIVERSE.parse("@envoi@other.example #envoyer 10€ @bob").reason == "NOT_ADDRESSED"
    paid_too = FEDIVERSE.parse("@envoi @envoi@other.example #envoyer 10€ @bob")
    assert paid_too.reason == "MULTIPLE_RECIPIENTS"


def test_the_bot_handle_follows_the_network_s_syntax():
    assert Grammar("envoi_payments_robot@pay.example", mentions=FEDIVERSE_MENTIONS)
    with pytest.raises(ValueError, match="is not a X handle .1 to 15 letters"):
        Grammar("envoi_payments_robot")
    with pytest.raises(ValueError, match="not a Mastodon handle"):
        Grammar("envoi@", mentions=FEDIVERSE_MENTIONS)


def test_other_networks_are_read_with_their_own_syntax():
    conversation = Grammar(
        "SmoneyFR",
        bare_keyword=True,
        qualified_mentions=True,
        networks={"mastodon": FEDIVERSE_MENTIONS},
    )
    read = conversation.parse("envoyer 10€ @Mastodon:bob.smith@example.social", direct_message=True)
    assert read.recipient == "mastodon:bob.smith@example.social"
    # Namespaces not listed keep the grammar's own (X's) rules.
    assert conversation.parse("envoyer 10€ @twitter:a-b", direct_message=True).reason == (
        "INVALID_HANDLE"
    )
    assert conversation.parse(
        "envoyer 10€ @twitter:bob@example.social", direct_message=True
    ).reason == ("INVALID_HANDLE")


@pytest.mark.parametrize(
    "options",
    [
        {"handle_pattern": r"(a)+"},  # a group would shift what the grammar reads
        {"max_handle_chars": 0},
        {"max_handle_chars": 65},
    ],
)
def test_a_mention_syntax_refuses_what_the_grammar_cannot_use(options):
    with pytest.raises(ValueError):
        MentionSyntax(**options)


def test_a_network_namespace_must_be_one_envoi_can_keep():
    with pytest.raises(ValueError):
        Grammar("SmoneyFR", qualified_mentions=True, networks={"Mastodon": FEDIVERSE_MENTIONS})


HANDLE = re.compile(r"[A-Za-z0-9_]+(?:[.-]+[A-Za-z0-9_]+)*(?:@[A-Za-z0-9.-]+)?|#\w+")


@given(
    st.lists(
        st.one_of(
            st.text(max_size=8),
            st.sampled_from(["@envoi ", "#envoyer ", "10€ ", "@", "@bob", "@b.c", ".", "-", " "]),
            st.sampled_from(["@x@y.z", "@x@y", "@a@b.c@d.e", "&amp;", "😘"]),
        )
    ).map("".join),
    st.booleans(),
)
@example("@envoi #envoyer 10€ @bob@example.social", False)
def test_a_fediverse_grammar_never_raises_and_pays_only_handles(text, direct_message):
    result = FEDIVERSE.parse(text, direct_message=direct_message)
    if isinstance(result, Rejection):
        assert result.reason in REASONS and result.message
    else:
        assert HANDLE.fullmatch(result.recipient) and len(result.recipient) <= 64, result.recipient
