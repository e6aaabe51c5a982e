"""Refusals of the SQL money rules, as envoi's typed errors.

A rule of core/schema/functions/ answers a refusal, a JSON object with the
reason, message, metadata and field violations of an error (refusal.sql),
or NULL when it allows what was asked. The core operations answer theirs
through ledger_call; the paths still written in Python ask a rule directly
(check) and raise what it answers.
"""

import json

import psycopg
from psycopg.types.json import Jsonb

from envoi.client import errors

# SQLSTATE of a refusal raised inside the database (refuse.sql).
REFUSAL_SQLSTATE = "EV000"


def error_for(refusal: dict) -> errors.EnvoiError:
    """The typed error of a refusal (an unknown reason is the server's bug: INTERNAL)."""
    error_class = errors.ERRORS_BY_REASON.get(refusal["reason"], errors.Internal)
    return error_class(
        refusal["message"],
        metadata=refusal.get("metadata") or {},
        field_violations=refusal.get("field_violations") or {},
    )


def check(conn: psycopg.Connection, expression: str, params) -> None:
    """Raise the refusal of `SELECT expression` (a rule's call), if any; and the one a
    rule raised inside the database (refuse.sql)."""
    try:
        refusal = conn.execute(f"SELECT {expression}", params).fetchone()[0]
    except psycopg.Error as exc:
        raise error_for_exception(exc) or exc from None
    if refusal is not None:
        raise error_for(refusal)


def rules(settings) -> Jsonb:
    """The server's settings the SQL rules read (their argument s), once per process."""
    return Jsonb({name: getattr(settings, name) for name in RULE_SETTINGS})


RULE_SETTINGS = (
    "max_to_person_cents",
    "max_to_organisation_cents",
    "daily_cap_cents",
    "verified_max_balance_cents",
    "verified_monthly_out_cents",
    "unverified_max_balance_cents",
    "unverified_monthly_out_cents",
    "channel_pending_max_count",
    "channel_pending_max_cents",
    "confirmation_timeout_s",
    "code_max_attempts",
    "claim_window_s",
)


def error_for_exception(exc: psycopg.Error) -> errors.EnvoiError | None:
    """The typed error of a refusal raised inside the database (SQLSTATE EV000), or None."""
    if exc.sqlstate != REFUSAL_SQLSTATE:
        return None
    return error_for(json.loads(exc.diag.message_detail))
