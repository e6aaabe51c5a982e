"""Limits on what one transfer may move, and who may be paid, as the paths
still written in Python ask them.

The rules are SQL functions of core/schema/functions/, each defined once:
per_transfer_cap_refusal and payment_caps_refusal (the cap by kind of
recipient, the sender's daily cap over any 24 hours, its tier's monthly
outgoing limit, the recipient's maximum balance), monthly_outgoing_refusal,
max_balance_refusal, recipient_verified_refusal, settlement_refusal,
currency_refusal, available_refusal, channel_holds_refusal. The core
operations (transfer_initiate, transfer_confirm) run them inside the
database; here each check is one statement, run with the row it is about
locked by the caller where a limit could otherwise be passed twice.
"""

from envoi.core.config import Settings
from envoi.core.ledger import refusals


def check_max_balance(conn, settings: Settings, account_id, incoming_cents: int) -> None:
    """Refuse money that would take an account over its tier's maximum balance."""
    refusals.check(
        conn,
        "max_balance_refusal(%s, a, %s::bigint) FROM accounts a WHERE a.account_id = %s",
        (refusals.rules(settings), incoming_cents, account_id),
    )


def fits_max_balance(conn, settings: Settings, account_id, incoming_cents: int) -> bool:
    return conn.execute(
        "SELECT max_balance_refusal(%s, a, %s::bigint) IS NULL FROM accounts a"
        " WHERE a.account_id = %s",
        (refusals.rules(settings), incoming_cents, account_id),
    ).fetchone()[0]


def refuse_settlement(conn, kind: str, field: str) -> None:
    """A settlement account moves money only in CreateTransfers batches and credits."""
    refusals.check(conn, "settlement_refusal(%s, %s)", (kind, field))


def check_recipient_verified(conn, account_id) -> None:
    """Refuse to pay a merchant or an association no admin has verified."""
    refusals.check(
        conn,
        "recipient_verified_refusal(account_id, kind, profile_verify_time) FROM accounts"
        " WHERE account_id = %s",
        (account_id,),
    )


def check_currency(
    conn, held_currency_code: str, currency_code: str, holder: str, field="amount.currency_code"
) -> None:
    """Refuse money in another currency than the one held; holder names who holds it."""
    refusals.check(
        conn, "currency_refusal(%s, %s, %s, %s)", (held_currency_code, currency_code, holder, field)
    )
