"""The API commands' output (--output json|table|id), their hints, and the
short reference of a channel's reply, refused before any call."""

import re
import subprocess
import sys

import pytest

from envoi.client import EnvoiClient, errors
from envoi.core import cli
from envoi.core.cli import api, output
from envoi.core.ops.harness import free_port
from envoi.v1 import (
    account_pb2,
    account_service_pb2,
    money_pb2,
    transfer_pb2,
    transfer_service_pb2,
)

TRANSFER = transfer_pb2.Transfer(
    transfer_id="9e9e43b9-ced6-45c0-b440-418fc16c5a6d",
    from_account_id="3d6795da-e46d-42a0-89fb-594b7dc6a6d9",
    amount=money_pb2.Money(currency_code="EUR", amount_cents=3950),
    memo="pizza",
)


def test_table_prints_money_as_an_amount_and_a_currency():
    rows = dict(output.table_rows(output.message_dict(TRANSFER)))
    assert rows["amount"] == "39.50 EUR"
    assert rows["memo"] == "pizza"
    assert "to_account_id" not in rows  # unset: not shown


def test_table_prints_negative_and_small_amounts_exactly():
    assert output.money_text({"currency_code": "EUR", "amount_cents": "-5"}) == "-0.05 EUR"
    assert output.money_text({"currency_code": "EUR", "amount_cents": "0"}) == "0.00 EUR"


def test_table_says_what_the_tier_is_about():
    account = account_pb2.Account(tier=account_pb2.ACCOUNT_TIER_UNVERIFIED)
    labels = dict(output.table_rows(output.short_enums(account, output.message_dict(account))))
    assert labels["tier (limits; identity checks)"] == "UNVERIFIED"


def test_table_names_enum_values_without_their_prefix(capsys):
    page = transfer_service_pb2.ListTransfersResponse(
        transfers=[transfer_pb2.Transfer(state=transfer_pb2.TRANSFER_STATE_COMPLETED)]
    )
    output.print_reply(page, "table")
    assert capsys.readouterr().out == "state  COMPLETED\n"


def test_id_is_the_first_id_looking_into_a_wrapped_reply():
    reply = transfer_service_pb2.GetTransferResponse(transfer=TRANSFER)
    assert output.first_id(reply) == TRANSFER.transfer_id


def test_id_prints_one_line_per_item(capsys):
    output.print_reply([TRANSFER, TRANSFER], "id")
    assert capsys.readouterr().out == f"{TRANSFER.transfer_id}\n" * 2


def subcommands(parser) -> dict:
    for action in parser._actions:
        if action.__class__.__name__ == "_SubParsersAction":
            return action.choices
    return {}


@pytest.mark.parametrize("reason", sorted(api.HINTS))
def test_every_hint_names_a_command_of_the_cli(reason):
    named = re.findall(r"envoi ([a-z-]+)(?: ([a-z-]+))?", api.HINTS[reason])
    assert named, api.HINTS[reason]
    for group, action in named:
        actions = subcommands(cli.build_parser())
        assert group in actions, group
        if action and subcommands(actions[group]):
            assert action in subcommands(actions[group]), (group, action)


def envoi(*args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_short_reference_is_refused_with_the_command_that_lists_ids():
    target = f"127.0.0.1:{free_port()}"  # never called: refused before
    done = envoi("transfer", "get", "cf6045a9", "--token", "t", "--target", target)
    assert done.returncode == 1
    assert '"reason": "SHORT_REFERENCE"' in done.stderr
    assert "envoi transfer list ACCOUNT_ID" in done.stderr
    done = envoi("transfer", "get", "cf6045a9", "--token", "t", "--output", "table")
    assert done.stderr.startswith(
        "envoi: SHORT_REFERENCE: cf6045a9 is the short reference channels"
    )


def test_an_unreachable_server_is_unavailable_naming_its_target():
    target = f"127.0.0.1:{free_port()}"  # nothing listens there
    with EnvoiClient(target, "token", connect_timeout_s=0.5) as client:
        with pytest.raises(errors.Unavailable) as raised:
            client.get_account("3d6795da-e46d-42a0-89fb-594b7dc6a6d9")
    assert target in raised.value.message and raised.value.metadata == {"target": target}


def test_the_cli_reports_an_unreachable_server_with_a_hint():
    target = f"127.0.0.1:{free_port()}"
    done = envoi(
        "account",
        "get",
        "3d6795da-e46d-42a0-89fb-594b7dc6a6d9",
        "--token",
        "t",
        "--target",
        target,
        "--output",
        "table",
    )
    assert done.returncode == 1
    assert f"envoi: UNAVAILABLE: no connection to envoi at {target}" in done.stderr
    assert "hint: start the server (envoi serve)" in done.stderr


def test_a_page_lists_its_items_and_a_reply_with_a_list_is_one_item():
    page = transfer_service_pb2.ListTransfersResponse(transfers=[TRANSFER], next_page_token="p2")
    assert output.listed(page) == [TRANSFER]
    opened = account_service_pb2.OpenAccountResponse(
        account=account_pb2.Account(account_id="a"), claimed_transfers=[TRANSFER]
    )
    assert output.listed(opened) == [opened]
    assert output.first_id(opened) == "a"


def test_a_command_group_registers_by_its_module_and_function(monkeypatch):
    registered = (*cli.COMMAND_GROUPS, "envoi.core.cli.operators:add_webhook")
    monkeypatch.setattr(cli, "COMMAND_GROUPS", registered[:3] + registered[-1:])
    assert "webhook" in subcommands(cli.build_parser())


def test_an_identity_of_eight_digits_is_no_short_reference():
    target = f"127.0.0.1:{free_port()}"  # nothing listens: the call is tried, and fails so
    done = envoi(
        "identity",
        "resolve",
        "--namespace",
        "twitter",
        "--subject-id",
        "12345678",
        "--token",
        "t",
        "--target",
        target,
    )
    assert '"reason": "UNAVAILABLE"' in done.stderr
