"""Collections in the ledger: open one, read its totals, close or cancel it.

The money rules are SQL (migrations/0011_collections.sql): a collection's
account takes its credits deferred, so contributions never queue on one
row; closing pays the whole balance to the owner and cancelling pays each
contribution back, both made by a trigger, exactly once. Here: the lookups,
the locks in their order, and the typed errors.

Locks: a contribution completing takes FOR KEY SHARE on the collection row
(shared: contributions do not wait for each other), after its transfer and
before any account. Closing or cancelling takes FOR UPDATE on it first, then
the accounts: it waits for the contributions completing now, and those that
come later see it closed.
"""

import re
import uuid

import psycopg.errors
from psycopg.rows import dict_row

from envoi.client import errors
from envoi.core.enums import CollectionState

# Without "#": what the collections table accepts (and X accepts as a hashtag).
HASHTAG = re.compile(r"[A-Za-z0-9_]{3,50}")
MAX_TITLE_LENGTH = 100
# Channel payment keywords are commands, never a collection's name. The
# defaults, and ENVOI_CHANNEL_KEYWORDS when the server has it.
DEFAULT_RESERVED_HASHTAGS = ("envoyer", "send")

_SELECT = """
SELECT c.collection_id, c.seq, c.owner_account_id, c.title, c.hashtag, c.target_cents,
       c.deadline_time, c.state, c.create_time, c.resolve_time, a.currency_code,
       o.kind AS owner_kind, o.profile_verify_time AS owner_profile_verify_time,
       (c.state = 'OPEN' AND (c.deadline_time IS NULL OR c.deadline_time > now()))
           AS accepting_payments,
       (c.deadline_time IS NOT NULL AND c.deadline_time <= now()) AS deadline_passed,
       coalesce(s.collected_cents, 0)::bigint AS collected_cents,
       coalesce(s.contributor_count, 0)::bigint AS contributor_count,
       (SELECT p.transfer_id FROM transfers p
         WHERE p.collection_id = c.collection_id AND p.kind = 'COLLECTION_PAYOUT')
           AS payout_transfer_id
  FROM collections c
  JOIN accounts a ON a.account_id = c.collection_id
  JOIN accounts o ON o.account_id = c.owner_account_id
  -- Exact, from the completed contributions (an index-only scan of
  -- transfers_collection_contributions): nothing is counted on a hot row.
  CROSS JOIN LATERAL (
       SELECT sum(t.amount_cents) AS collected_cents,
              count(DISTINCT t.from_account_id) AS contributor_count
         FROM transfers t
        WHERE t.collection_id = c.collection_id AND t.kind = 'PAYMENT'
          AND t.state = 'COMPLETED') s
"""


def normalize_hashtag(text: str) -> str:
    """The hashtag without its "#" (or full-width "＃")."""
    return text[1:] if text[:1] in "#\uff03" else text


def hashtag_problem(hashtag: str, reserved) -> str | None:
    """Why a hashtag (without "#") cannot name a collection, or None."""
    if not HASHTAG.fullmatch(hashtag) or not re.search(r"[A-Za-z]", hashtag):
        return "3 to 50 of A-Z a-z 0-9 _, with at least one letter"
    if hashtag.lower() in {word.lower() for word in reserved}:
        return "a payment keyword cannot name a collection"
    return None


def get(conn, *, collection_id: str | None = None, hashtag: str | None = None) -> dict:
    """By id; or by hashtag: the open collection with it, else the latest that had it."""
    cursor = conn.cursor(row_factory=dict_row)
    if collection_id is not None:
        row = cursor.execute(_SELECT + " WHERE c.collection_id = %s", (collection_id,)).fetchone()
        metadata = {"collection_id": collection_id}
    else:
        row = cursor.execute(
            _SELECT + " WHERE lower(c.hashtag) = lower(%s)"
            " ORDER BY c.state = 'OPEN' DESC, c.create_time DESC LIMIT 1",
            (hashtag,),
        ).fetchone()
        metadata = {"hashtag": hashtag}
    if row is None:
        raise errors.CollectionNotFound("no such collection", metadata=metadata)
    return row


def not_open(row: dict) -> errors.CollectionNotOpen:
    deadline_passed = row["state"] == CollectionState.OPEN and row["deadline_passed"]
    return errors.CollectionNotOpen(
        "the collection's deadline has passed"
        if deadline_passed
        else f"the collection is {row['state'].lower()}",
        metadata={
            "collection_id": str(row["collection_id"]),
            "state": row["state"],
            "deadline_passed": "true" if deadline_passed else "false",
        },
    )


def for_payment(conn, *, collection_id: str | None, hashtag: str | None) -> dict:
    """The collection a payment names, if it takes payments now."""
    row = get(conn, collection_id=collection_id, hashtag=hashtag)
    if not row["accepting_payments"]:
        raise not_open(row)
    return row


def lock_for_contribution(conn, collection_id) -> dict:
    """Before a contribution completes: a shared lock on the collection (it stays
    open until this transaction ends); returns its row, state and deadline."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            "SELECT collection_id, state,"
            " (state = 'OPEN' AND (deadline_time IS NULL OR deadline_time > now()))"
            "   AS accepting_payments,"
            " (deadline_time IS NOT NULL AND deadline_time <= now()) AS deadline_passed"
            " FROM collections WHERE collection_id = %s FOR KEY SHARE",
            (collection_id,),
        )
        .fetchone()
    )


def create(
    conn,
    *,
    owner: dict,
    title: str,
    hashtag: str,
    target_cents: int | None,
    deadline_time,
    initiated_by: str,
) -> dict:
    """Open the collection's account and the collection, owned by `owner` (a row)."""
    collection_id = str(uuid.uuid4())
    conn.execute(
        "INSERT INTO accounts (account_id, kind, display_name, currency_code)"
        " VALUES (%s, 'COLLECTION', %s, %s)",
        (collection_id, title, owner["currency_code"]),
    )
    try:
        with conn.transaction():  # a savepoint: the hashtag may be taken
            conn.execute(
                "INSERT INTO collections (collection_id, owner_account_id, title, hashtag,"
                " target_cents, deadline_time, initiated_by) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (
                    collection_id,
                    owner["account_id"],
                    title,
                    hashtag,
                    target_cents,
                    deadline_time,
                    initiated_by,
                ),
            )
    except psycopg.errors.UniqueViolation as exc:
        if exc.diag.constraint_name != "collections_open_hashtag":
            raise
        raise errors.CollectionHashtagTaken(
            "another open collection has this hashtag", metadata={"hashtag": hashtag}
        ) from None
    return get(conn, collection_id=collection_id)


def lock(conn, collection_id: str) -> dict:
    """The collection, locked FOR UPDATE: no contribution completes until this
    transaction ends, and those completing now are waited for."""
    row = conn.execute(
        "SELECT 1 FROM collections WHERE collection_id = %s FOR UPDATE", (collection_id,)
    ).fetchone()
    if row is None:
        raise errors.CollectionNotFound(
            "no such collection", metadata={"collection_id": collection_id}
        )
    return get(conn, collection_id=collection_id)


def resolve(conn, collection: dict, state: str, resolved_by: str) -> dict:
    """Close or cancel a collection locked by lock(): the trigger pays the owner
    or pays every contribution back, in this transaction."""
    if collection["state"] != CollectionState.OPEN:
        raise not_open(collection)
    conn.execute(
        "UPDATE collections SET state = %s, resolved_by = %s, resolve_time = now()"
        " WHERE collection_id = %s",
        (state, resolved_by, collection["collection_id"]),
    )
    return get(conn, collection_id=str(collection["collection_id"]))


def balance_cents(conn, collection: dict) -> int:
    """What the collection's account holds now, deferred credits included."""
    return conn.execute(
        "SELECT account_balance_cents(a) FROM accounts a WHERE account_id = %s",
        (collection["collection_id"],),
    ).fetchone()[0]


def refund_count(conn, collection_id) -> int:
    return conn.execute(
        "SELECT count(*) FROM transfers WHERE collection_id = %s"
        " AND kind IN ('REFUND', 'COLLECTION_REFUND')",
        (collection_id,),
    ).fetchone()[0]


def list_owned(conn, owner_account_id: str, *, before_seq: int | None, limit: int) -> list:
    """An owner's collections, newest first, with seq below before_seq."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            _SELECT + " WHERE c.owner_account_id = %s AND c.seq < coalesce(%s, 9223372036854775807)"
            " ORDER BY c.seq DESC LIMIT %s",
            (owner_account_id, before_seq, limit),
        )
        .fetchall()
    )


def get_many(conn, collection_ids) -> dict:
    """collection_id -> row, for the events about collections."""
    if not collection_ids:
        return {}
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(_SELECT + " WHERE c.collection_id = ANY(%s)", (list(collection_ids),))
        .fetchall()
    )
    return {row["collection_id"]: row for row in rows}
