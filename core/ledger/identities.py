"""Identities on the networks linked to accounts, and the escrow they claim."""

from __future__ import annotations

from typing import NamedTuple

from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.ledger import accounts, refusals, transfers


class IdentityRef(NamedTuple):
    """A social identity as a channel names it."""

    namespace: str
    subject_id: str
    handle: str = ""


def identity_account_id(conn, identity: IdentityRef):
    row = conn.execute(
        "SELECT account_id FROM identities WHERE namespace = %s AND subject_id = %s",
        (identity.namespace, identity.subject_id),
    ).fetchone()
    return str(row[0]) if row else None


def account_identities(conn, account_id) -> list[IdentityRef]:
    return [
        IdentityRef(*row)
        for row in conn.execute(
            "SELECT namespace, subject_id, handle FROM identities WHERE account_id = %s"
            " ORDER BY namespace, subject_id",
            (account_id,),
        )
    ]


def link_identity(conn, settings: Settings, account_id: str, identity: IdentityRef) -> list:
    """Link (or refresh the handle of) an identity; return the transfers it claimed."""
    # Not locked here: the claim locks the waiting transfers, then the account,
    # in the order every other path takes.
    account = accounts.get_account(conn, account_id)
    # Money waiting for the identity would reach the account by a claim.
    refusals.check(conn, "settlement_refusal(%s, 'account_id')", (account["kind"],))
    owner = conn.execute(
        "INSERT INTO identities (namespace, subject_id, handle, account_id)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (namespace, subject_id)"
        " DO UPDATE SET handle = EXCLUDED.handle WHERE identities.account_id = EXCLUDED.account_id"
        " RETURNING account_id",
        (*identity, account_id),
    ).fetchone()
    if owner is None:
        raise errors.IdentityAlreadyLinked(
            "this identity already belongs to another account",
            metadata={"namespace": identity.namespace, "subject_id": identity.subject_id},
        )
    return claim_for_identity(conn, settings, identity, str(account["account_id"]))


def claim_for_identity(conn, settings: Settings, identity: IdentityRef, account_id: str) -> list:
    """Credit every transfer waiting in escrow for the identity to the account, at
    once (the SQL function identity_claim says how); return the transfers claimed."""
    claimed = conn.execute(
        "SELECT identity_claim(%s, %s, %s, %s)",
        (refusals.rules(settings), identity.namespace, identity.subject_id, account_id),
    ).fetchone()[0]
    return [transfers.get_transfer(conn, transfer_id) for transfer_id in claimed]


def unlink_identity(conn, account_id: str, identity: IdentityRef) -> None:
    accounts.get_account(conn, account_id)
    deleted = conn.execute(
        "DELETE FROM identities WHERE namespace = %s AND subject_id = %s AND account_id = %s",
        (identity.namespace, identity.subject_id, account_id),
    ).rowcount
    if not deleted:
        raise errors.IdentityNotLinked(
            "this identity is not linked to this account",
            metadata={"namespace": identity.namespace, "subject_id": identity.subject_id},
        )


def resolve_identity(conn, namespace: str, *, subject_id: str = "", handle: str = "") -> dict:
    """The identity row (with account) by subject_id, or else by handle."""
    cursor = conn.cursor(row_factory=dict_row)
    sql = (
        "SELECT i.namespace, i.subject_id, i.handle, a.account_id, a.display_name, a.kind"
        " FROM identities i JOIN accounts a USING (account_id) WHERE i.namespace = %s"
    )
    if subject_id:
        row = cursor.execute(sql + " AND i.subject_id = %s", (namespace, subject_id)).fetchone()
    else:
        row = cursor.execute(
            sql + " AND lower(i.handle) = lower(%s) ORDER BY i.link_time DESC LIMIT 1",
            (namespace, handle),
        ).fetchone()
    if row is None:
        raise errors.IdentityNotLinked(
            "no account has linked this identity", metadata={"namespace": namespace}
        )
    return row


# Events
