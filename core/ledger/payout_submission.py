"""Handing pending payouts to their provider, after the hold has committed.

Never before: a provider that sent money for a hold that then rolled back
would pay out money the account does not have. Withdraw submits at once; the
maintenance thread resubmits what a crash or an unavailable provider left
behind. The payout id is the provider's idempotency key, so a payout
submitted twice is sent once.
"""

import logging

from envoi.core.enums import PayoutState
from envoi.core.error_causes import cause
from envoi.core.ledger import payouts
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.providers.provider import ProviderUnavailable

log = logging.getLogger("envoi.payouts")

# Left to the Withdraw call that made it before the sweeper steps in.
RESUBMIT_AFTER_S = 5.0
MAX_SUBMISSIONS_PER_TICK = 100


def submit(runtime: Runtime, payout_id: str) -> bool:
    """Hand one pending payout to its provider; False when it stays for a later try."""
    payout = run_in_transaction(runtime.pool, lambda conn: payouts.get(conn, payout_id))
    if payout["state"] != PayoutState.PENDING or payout["submit_time"] is not None:
        return False
    provider = runtime.payout_providers.get(payout["provider"])
    if provider is None:
        log.warning("payout %s: provider %s is not loaded", payout_id, payout["provider"])
        return False
    try:
        reference = provider.submit(
            idempotency_key=payout_id,
            iban=payout["iban"],
            beneficiary_name=payout["beneficiary_name"],
            amount_cents=payout["amount_cents"],
            currency_code=payout["currency_code"],
        )
    except ProviderUnavailable:
        log.warning("payout %s: provider %s unavailable, retried later", payout_id, provider.name)
        return False
    except Exception as exc:  # the hold is committed: the sweeper retries, the caller is answered
        log.error("payout %s: provider %s failed: %s", payout_id, provider.name, cause(exc))
        return False
    return run_in_transaction(
        runtime.pool, lambda conn: payouts.mark_submitted(conn, payout_id, reference)
    )


def submit_due(runtime: Runtime, older_than_s: float = RESUBMIT_AFTER_S) -> int:
    """Submit pending payouts no provider has taken yet; return how many were."""
    due = run_in_transaction(
        runtime.pool,
        lambda conn: payouts.unsubmitted(
            conn, older_than_s=older_than_s, limit=MAX_SUBMISSIONS_PER_TICK
        ),
    )
    return sum(submit(runtime, payout_id) for payout_id in due)
