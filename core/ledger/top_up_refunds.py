"""Refunds to the card of top-ups that would have passed the maximum balance.

The card was charged, but crediting it would have taken the account over its
tier's maximum balance: the top-up ends FAILED (max_balance_exceeded) and its
refund is recorded in the same transaction (record, SQL rules in
migrations/0016). Only after that commits is the refund handed to the provider:
at once by the call that failed the top-up, then by the maintenance thread
until the provider takes it. The refund id is the provider's idempotency key,
so a refund sent twice goes back to the card once.
"""

import logging

from envoi.core.error_causes import cause
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.providers.provider import ProviderUnavailable

log = logging.getLogger("envoi.top_up_refunds")

# envoi's own failure_reason of a top-up refunded for the account's maximum balance.
MAX_BALANCE_EXCEEDED = "max_balance_exceeded"
# Left to the call that failed the top-up before the sweeper steps in.
RESEND_AFTER_S = 5.0
MAX_SENDS_PER_TICK = 100


def record(conn, top_up_id: str) -> None:
    """The refund of a top-up just failed for its maximum balance: of its whole
    amount (the trigger copies it), unsent."""
    conn.execute(
        "INSERT INTO top_up_refunds (top_up_id, currency_code, amount_cents)"
        " SELECT top_up_id, currency_code, amount_cents FROM card_top_ups WHERE top_up_id = %s",
        (top_up_id,),
    )


def _unsent(conn, top_up_id: str):
    """(refund_id, provider, charge reference, amount, currency) of an unsent refund, or None."""
    return conn.execute(
        "SELECT r.refund_id, u.provider, u.provider_reference, r.amount_cents, r.currency_code"
        " FROM top_up_refunds r JOIN card_top_ups u USING (top_up_id)"
        " WHERE r.top_up_id = %s AND r.send_time IS NULL",
        (top_up_id,),
    ).fetchone()


def _mark_sent(conn, top_up_id: str, provider_reference: str) -> bool:
    """Record the provider's reference, once; False if it was recorded already."""
    return bool(
        conn.execute(
            "UPDATE top_up_refunds SET provider_reference = %s, send_time = now()"
            " WHERE top_up_id = %s AND send_time IS NULL",
            (provider_reference, top_up_id),
        ).rowcount
    )


def send(runtime: Runtime, top_up_id: str) -> bool:
    """Hand a top-up's unsent refund to its provider; False when there is none
    or it stays for a later try."""
    refund = run_in_transaction(runtime.pool, lambda conn: _unsent(conn, top_up_id))
    if refund is None:
        return False
    refund_id, provider_name, charge_reference, amount_cents, currency_code = refund
    provider = runtime.funding_providers.get(provider_name)
    if provider is None:
        log.warning("refund of top-up %s: provider %s is not loaded", top_up_id, provider_name)
        return False
    try:
        reference = provider.refund(
            idempotency_key=str(refund_id),
            charge_reference=charge_reference,
            amount_cents=amount_cents,
            currency_code=currency_code,
        )
    except ProviderUnavailable:
        log.warning("refund of top-up %s: provider unavailable, retried later", top_up_id)
        return False
    except Exception as exc:  # the refund is committed: the sweeper retries it
        log.error("refund of top-up %s: provider failed: %s", top_up_id, cause(exc))
        return False
    return run_in_transaction(runtime.pool, lambda conn: _mark_sent(conn, top_up_id, reference))


def send_due(runtime: Runtime, older_than_s: float = RESEND_AFTER_S) -> int:
    """Send the refunds no provider has taken yet; return how many were."""
    due = run_in_transaction(
        runtime.pool,
        lambda conn: [
            str(row[0])
            for row in conn.execute(
                "SELECT top_up_id FROM top_up_refunds WHERE send_time IS NULL"
                " AND create_time < now() - make_interval(secs => %s)"
                " ORDER BY create_time LIMIT %s",
                (older_than_s, MAX_SENDS_PER_TICK),
            )
        ],
    )
    return sum(send(runtime, top_up_id) for top_up_id in due)
