"""Background work of each server process: expire pending transfers whose
time is up, hand payouts left unsubmitted and card refunds left unsent to
their provider, fold the
deferred credits of hot accounts into their balance, and forget request ids
past their retention."""

import logging
import threading
import time

from envoi.core.error_causes import cause
from envoi.core.ledger import accounts, idempotency, payout_submission, top_up_refunds, transfers
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.observability import metrics
from envoi.core.runtime import Runtime

log = logging.getLogger("envoi.maintenance")

EXPIRY_INTERVAL_S = 1.0
PURGE_INTERVAL_S = 300.0
MAX_EXPIRIES_PER_TICK = 1000


def fold_deferred_credits(runtime: Runtime) -> int:
    """Fold every account's deferred credits, one account per transaction so
    that each row lock is short; return how many accounts were folded."""
    account_ids = run_in_transaction(runtime.pool, accounts.accounts_with_deferred_credits)
    for account_id in account_ids:
        run_in_transaction(
            runtime.pool, lambda conn, a=account_id: accounts.fold_deferred_credits(conn, a)
        )
    return len(account_ids)


def expire_due_transfers(runtime: Runtime, now=None) -> int:
    """Expire pending transfers and refund unclaimed ones whose deadline is
    past at `now` (default: the database's clock); return how many."""
    resolved = 0
    while resolved < MAX_EXPIRIES_PER_TICK and run_in_transaction(
        runtime.pool, lambda conn: transfers.expire_or_refund_one_due(conn, now)
    ):
        resolved += 1
    return resolved


class MaintenanceThread(threading.Thread):
    def __init__(self, runtime: Runtime):
        super().__init__(name="envoi-maintenance", daemon=True)
        self.runtime = runtime
        self.stopping = threading.Event()

    def run(self):
        next_purge = 0.0
        while not self.stopping.wait(EXPIRY_INTERVAL_S):
            try:
                self.sweep()
                if time.monotonic() >= next_purge:
                    run_in_transaction(
                        self.runtime.pool,
                        lambda conn: idempotency.purge_expired(
                            conn, self.runtime.settings.idempotency_retention_s
                        ),
                    )
                    next_purge = time.monotonic() + PURGE_INTERVAL_S
                metrics.MAINTENANCE_SWEEPS.labels("ok").inc()
            except Exception as exc:  # the database may be restarting: try again next tick
                metrics.MAINTENANCE_SWEEPS.labels("failed").inc()
                log.warning("maintenance failed: %s", cause(exc))

    def sweep(self) -> None:
        """One tick's work, each task's count logged when not 0 and counted."""
        expired = expire_due_transfers(self.runtime)
        if expired:
            log.info("expired or refunded %d transfer(s)", expired)
        folded = fold_deferred_credits(self.runtime)
        submitted = payout_submission.submit_due(self.runtime)
        if submitted:
            log.info("submitted %d payout(s) left behind", submitted)
        refunded = top_up_refunds.send_due(self.runtime)
        if refunded:
            log.info("sent %d card refund(s) left behind", refunded)
        for task, count in (
            ("expired", expired),
            ("folded", folded),
            ("payouts", submitted),
            ("refunds", refunded),
        ):
            metrics.MAINTENANCE_ITEMS.labels(task).inc(count)

    def stop(self):
        self.stopping.set()
        self.join()
