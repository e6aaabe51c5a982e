"""Code resets by an admin (ResetCode) and the cooling-off hold they start.

A forgotten or locked code is set again only by an admin, and then no money
leaves the account by a path that needs its code until the hold ends:
whoever was behind the reset (a tricked support agent, a stolen admin
session), the owner has time to see the CODE_RESET event and object. The
reset row, its event and the account's hold are written by the trigger of
migrations/0014, which also refuses money out during the hold as a last word.
"""

import uuid

from psycopg.rows import dict_row

from envoi.core.auth.caller import Caller
from envoi.core.policy import confirmation_codes

MAX_REASON_LENGTH = 500
CODE_RESET_COLUMNS = "code_reset_id, account_id, reset_time, hold_end_time"


def reset(
    conn, code_key: bytes, hold_s: int, *, account: dict, new_code: str, reason: str, by: Caller
) -> dict:
    """Set the code of the locked `account`, clear its wrong attempts, record
    the reset and start its hold."""
    account_id = str(account["account_id"])
    conn.execute(
        "UPDATE accounts SET code_hmac = %s, failed_code_attempts = 0 WHERE account_id = %s",
        (confirmation_codes.code_hmac(code_key, account_id, new_code), account_id),
    )
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"INSERT INTO code_resets (code_reset_id, account_id, reset_by_principal,"
            f" reset_by_token_id, reason, hold_end_time)"
            f" VALUES (%s, %s, %s, %s, %s, now() + make_interval(secs => %s))"
            f" RETURNING {CODE_RESET_COLUMNS}",
            (uuid.uuid4(), account_id, by.principal, by.token_id, reason, hold_s),
        )
        .fetchone()
    )


def get_many(conn, code_reset_ids: list) -> dict:
    """code_reset_id -> row."""
    rows = (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {CODE_RESET_COLUMNS} FROM code_resets WHERE code_reset_id = ANY(%s)",
            (code_reset_ids,),
        )
        .fetchall()
    )
    return {row["code_reset_id"]: row for row in rows}
