"""Debit mandates: an admin's record that CreateTransfers batches may debit a
merchant's or an association's account without its owner's code.

Every grant and revocation is a row of debit_mandate_changes (who, why,
when), never changed; its trigger (migration 0015) keeps the live mandate on
the account row, which batches read under the row lock they take. A person's
account never has one: the database refuses it too.
"""

from envoi.client import errors
from envoi.core.auth.caller import Caller
from envoi.core.enums import AccountKind

KINDS_WITH_MANDATE = (AccountKind.MERCHANT, AccountKind.ASSOCIATION)


def set_mandate(conn, account: dict, *, active: bool, reason: str, caller: Caller) -> None:
    """Grant (active) or revoke the mandate of a locked account."""
    if account["kind"] not in KINDS_WITH_MANDATE:
        raise errors.InvalidArgument(
            "only merchants and associations may be debited by batches under a mandate",
            field_violations={"account_id": "must be a MERCHANT or ASSOCIATION account"},
        )
    conn.execute(
        "INSERT INTO debit_mandate_changes (account_id, active, reason, principal, token_id)"
        " VALUES (%s, %s, %s, %s, %s)",
        (account["account_id"], active, reason, caller.principal, caller.token_id),
    )
