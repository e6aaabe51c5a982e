"""The ledger's invariants, checked straight in PostgreSQL after every test."""

import psycopg

CHECKS = {
    "all postings sum to zero per currency": (
        "SELECT currency_code FROM postings GROUP BY currency_code HAVING sum(amount_cents) <> 0"
    ),
    "the postings of each transfer sum to zero": (
        "SELECT transfer_id FROM postings GROUP BY transfer_id HAVING sum(amount_cents) <> 0"
    ),
    # Moved money: the sender -amount and the recipient +(amount - fee), and a
    # third leg, +fee to the fee revenue account, when a merchant's fee is not 0.
    # A transfer that went through escrow (never with a fee) has a second pair
    # (escrow to claimer or back to sender). A refund pays its payer back the
    # whole amount, from the refunder net of its fee and from the fee account;
    # one to a closed account's identity goes through escrow the same way, and
    # one that comes back unclaimed returns its fee to the fee account.
    "each transfer's postings match its state": (
        "SELECT t.transfer_id FROM transfers t LEFT JOIN postings p USING (transfer_id)"
        " GROUP BY t.transfer_id, t.kind, t.state, t.amount_cents, t.fee_cents,"
        "  t.from_account_id, t.to_account_id"
        " HAVING count(p.*) NOT IN (CASE WHEN t.kind = 'REFUND'"
        "                                THEN (1 + (t.fee_cents > 0)::int"
        "                                      + (t.fee_cents < t.amount_cents)::int)"
        "                                     * (1 + (t.state = 'REFUNDED')::int)"
        "                                     + 2 * (t.state = 'COMPLETED'"
        "                                            AND t.to_subject_id IS NOT NULL)::int"
        "                                WHEN t.state = 'COMPLETED'"
        "                                THEN 2 + (t.fee_cents > 0)::int"
        "                                WHEN t.state = 'AWAITING_CLAIM' THEN 2"
        "                                WHEN t.state = 'REFUNDED' THEN 4 ELSE 0 END,"
        "                           CASE WHEN t.state = 'COMPLETED' AND t.fee_cents = 0"
        "                                     AND t.kind <> 'REFUND' THEN 4 ELSE -1 END)"
        " OR coalesce(sum(p.amount_cents) FILTER (WHERE p.account_id = t.to_account_id), 0)"
        "    <> CASE WHEN t.kind = 'REFUND' AND t.state = 'REFUNDED' THEN 0"
        "            WHEN t.kind = 'REFUND' THEN t.amount_cents"
        "            WHEN t.state IN ('COMPLETED', 'AWAITING_CLAIM')"
        "            THEN t.amount_cents - t.fee_cents ELSE 0 END"
        " OR coalesce(sum(p.amount_cents) FILTER (WHERE p.account_id = t.from_account_id), 0)"
        "    <> CASE WHEN t.kind = 'REFUND' AND t.state = 'REFUNDED' THEN 0"
        "            WHEN t.kind = 'REFUND' THEN t.fee_cents - t.amount_cents"
        "            WHEN t.state IN ('COMPLETED', 'AWAITING_CLAIM')"
        "            THEN -t.amount_cents ELSE 0 END"
    ),
    # Merchant fees (migration 0012): only payments to merchants bear one, and
    # each completed one sits in the fee revenue account of its currency.
    "a fee only on a payment to a merchant, and on its refunds": (
        "SELECT t.transfer_id FROM transfers t JOIN accounts ta ON ta.account_id = t.to_account_id"
        " WHERE t.fee_cents <> 0 AND NOT ("
        "  (t.kind = 'PAYMENT' AND ta.kind = 'MERCHANT' AND t.fee_cents > 0"
        "   AND t.fee_cents < t.amount_cents)"
        "  OR (t.kind = 'REFUND' AND t.fee_cents > 0 AND t.fee_cents <= t.amount_cents))"
    ),
    "each completed payment's fee is posted to the fee revenue account": (
        "SELECT t.transfer_id FROM transfers t WHERE t.fee_cents > 0 AND t.state = 'COMPLETED'"
        " AND NOT EXISTS (SELECT 1 FROM postings p JOIN accounts a USING (account_id)"
        "  WHERE p.transfer_id = t.transfer_id AND a.system_purpose = 'FEE_REVENUE'"
        "  AND a.currency_code = t.currency_code"
        "  AND p.amount_cents = CASE t.kind WHEN 'REFUND' THEN -t.fee_cents ELSE t.fee_cents END)"
    ),
    "the fee revenue account holds the fees of completed payments": (
        "SELECT a.account_id FROM accounts a WHERE a.system_purpose = 'FEE_REVENUE'"
        " AND account_balance_cents(a) <> (SELECT coalesce(sum(CASE kind WHEN 'REFUND'"
        "  THEN -fee_cents ELSE fee_cents END), 0) FROM transfers"
        "  WHERE (state = 'COMPLETED' OR kind = 'REFUND' AND state = 'AWAITING_CLAIM')"
        "  AND currency_code = a.currency_code)"
    ),
    # Refunds (migration 0022): back to the payer of a completed payment (or to
    # the identity they paid from, through escrow, when their account closed:
    # migration 0025), never more than it in all, its fee pro rata; a
    # contribution's only from its collection's cancellation (migration 0027).
    "refunds give back at most their payment, to its payer, with its fee pro rata": (
        "SELECT p.transfer_id FROM transfers p JOIN transfers r ON r.refund_of = p.transfer_id"
        " GROUP BY p.transfer_id"
        " HAVING sum(r.amount_cents) > p.amount_cents"
        "  OR sum(r.fee_cents) <> div(sum(r.amount_cents) * p.fee_cents, p.amount_cents)"
        "  OR bool_or((r.from_account_id, r.currency_code, r.kind)"
        "     IS DISTINCT FROM (p.to_account_id, p.currency_code, 'REFUND')"
        "     OR r.to_account_id <> p.from_account_id AND (r.to_namespace, r.to_subject_id)"
        "        IS DISTINCT FROM (p.from_namespace, p.from_subject_id))"
        "  OR p.kind <> 'PAYMENT' OR p.state <> 'COMPLETED'"
        "  OR bool_or(r.collection_id IS DISTINCT FROM p.collection_id)"
    ),
    "money waits in escrow only for awaiting transfers": (
        "SELECT a.account_id FROM accounts a WHERE a.system_purpose = 'ESCROW'"
        " AND account_balance_cents(a) <> (SELECT coalesce(sum(amount_cents), 0) FROM transfers"
        "  WHERE state = 'AWAITING_CLAIM' AND to_account_id = a.account_id)"
    ),
    # Deferred credits (migration 0010) are part of the balance until folded.
    "each balance is the sum of its postings": (
        "SELECT a.account_id FROM accounts a"
        " LEFT JOIN (SELECT account_id, sum(amount_cents) AS cents FROM postings"
        "            GROUP BY account_id) p USING (account_id)"
        " LEFT JOIN (SELECT account_id, sum(amount_cents) AS cents FROM deferred_credits"
        "            GROUP BY account_id) d USING (account_id)"
        " WHERE a.balance_cents + coalesce(d.cents, 0) <> coalesce(p.cents, 0)"
    ),
    "deferred credits only on accounts that take them": (
        "SELECT d.account_id FROM deferred_credits d JOIN accounts a USING (account_id)"
        " WHERE NOT a.credits_deferred"
    ),
    # A request (migrations 0013, 0024) holds nothing until it is confirmed.
    "each held amount is the sum of its pending transfers and payouts": (
        "SELECT a.account_id FROM accounts a WHERE a.held_cents <>"
        " (SELECT coalesce(sum(amount_cents), 0) FROM transfers"
        "   WHERE from_account_id = a.account_id AND state = 'PENDING_CONFIRMATION'"
        "   AND NOT requested)"
        " + (SELECT coalesce(sum(amount_cents), 0) FROM payouts"
        "   WHERE account_id = a.account_id AND state = 'PENDING')"
    ),
    "no balance below its floor": (
        "SELECT account_id FROM accounts WHERE balance_cents - held_cents < floor_cents"
    ),
    "one outbox event per state a transfer went through": (
        "SELECT t.transfer_id FROM transfers t"
        " WHERE (SELECT count(*) FROM outbox_events e WHERE e.transfer_id = t.transfer_id)"
        " <> CASE WHEN t.kind = 'REFUND' AND t.to_subject_id IS NOT NULL"  # through escrow
        "         THEN 1 + (t.state <> 'AWAITING_CLAIM')::int"
        "         WHEN t.kind IN ('FUNDING', 'PAYOUT', 'LEDGER', 'COLLECTION_PAYOUT',"
        "                         'COLLECTION_REFUND', 'REFUND')"
        "              OR t.state = 'PENDING_CONFIRMATION'"
        "         THEN 1"
        "         WHEN (SELECT count(*) FROM postings p WHERE p.transfer_id = t.transfer_id) = 4"
        "         THEN 3 ELSE 2 END"
    ),
    # Card top-ups: credited once, by their amount, only when they succeeded.
    "a top-up is credited exactly when it succeeded": (
        "SELECT u.top_up_id FROM card_top_ups u"
        " LEFT JOIN transfers t ON t.transfer_id = u.transfer_id"
        " LEFT JOIN accounts f ON f.account_id = t.from_account_id"
        " WHERE (u.state = 'SUCCEEDED') <> (t.transfer_id IS NOT NULL)"
        " OR (t.transfer_id IS NOT NULL AND (t.kind, t.state, t.to_account_id, t.amount_cents,"
        "     t.currency_code, f.system_purpose) IS DISTINCT FROM ('FUNDING', 'COMPLETED',"
        "     u.account_id, u.amount_cents, u.currency_code, 'FUNDING'))"
    ),
    # Charged = credited + refunded: a charge that succeeded but would have passed
    # the maximum balance is refunded, whole, and no other top-up is.
    "a top-up is refunded exactly when it failed for its maximum balance": (
        "SELECT u.top_up_id FROM card_top_ups u"
        " LEFT JOIN top_up_refunds r ON r.top_up_id = u.top_up_id"
        " WHERE (u.state = 'FAILED' AND u.failure_reason = 'max_balance_exceeded')"
        "       <> (r.top_up_id IS NOT NULL)"
        " OR (r.top_up_id IS NOT NULL AND (r.amount_cents, r.currency_code)"
        "     IS DISTINCT FROM (u.amount_cents, u.currency_code))"
    ),
    "one outbox event per resolved top-up, none while pending": (
        "SELECT u.top_up_id FROM card_top_ups u"
        " WHERE (SELECT count(*) FROM outbox_events e WHERE e.top_up_id = u.top_up_id)"
        " <> CASE u.state WHEN 'PENDING' THEN 0 ELSE 1 END"
    ),
    # Payouts: money leaves only by a settled payout, by its amount, to the payout account.
    "a payout moved money out exactly when it settled": (
        "SELECT p.payout_id FROM payouts p"
        " LEFT JOIN transfers t ON t.transfer_id = p.transfer_id"
        " LEFT JOIN accounts s ON s.account_id = t.to_account_id"
        " WHERE (p.state = 'SETTLED') <> (t.transfer_id IS NOT NULL)"
        " OR (t.transfer_id IS NOT NULL AND (t.kind, t.state, t.from_account_id, t.amount_cents,"
        "     t.currency_code, s.system_purpose) IS DISTINCT FROM ('PAYOUT', 'COMPLETED',"
        "     p.account_id, p.amount_cents, p.currency_code, 'PAYOUT'))"
    ),
    # Bulk transfers are posted at once, between customer accounts only.
    "a LEDGER transfer is completed and touches no system account": (
        "SELECT t.transfer_id FROM transfers t"
        " JOIN accounts fa ON fa.account_id = t.from_account_id"
        " JOIN accounts ta ON ta.account_id = t.to_account_id"
        " WHERE t.kind = 'LEDGER' AND (t.state <> 'COMPLETED' OR 'SYSTEM' IN (fa.kind, ta.kind))"
    ),
    "an order is paid at most once": (
        "SELECT to_account_id, merchant_reference FROM transfers"
        " WHERE merchant_reference IS NOT NULL AND state = 'COMPLETED'"
        " GROUP BY to_account_id, merchant_reference HAVING count(*) > 1"
    ),
    "every PAYOUT transfer belongs to a settled payout": (
        "SELECT t.transfer_id FROM transfers t WHERE t.kind = 'PAYOUT' AND NOT EXISTS"
        " (SELECT 1 FROM payouts p WHERE p.transfer_id = t.transfer_id AND p.state = 'SETTLED')"
    ),
    "the payout account holds what settled payouts sent": (
        "SELECT a.account_id FROM accounts a WHERE a.system_purpose = 'PAYOUT'"
        " AND a.balance_cents <> (SELECT coalesce(sum(amount_cents), 0) FROM payouts"
        "  WHERE state = 'SETTLED' AND currency_code = a.currency_code)"
    ),
    "one outbox event per state a payout went through": (
        "SELECT p.payout_id FROM payouts p"
        " WHERE (SELECT count(*) FROM outbox_events e WHERE e.payout_id = p.payout_id)"
        " <> CASE p.state WHEN 'PENDING' THEN 1 ELSE 2 END"
    ),
    # Collections (migration 0011): money enters only by contributions while
    # open, and leaves only to the owner (closed) or back to each payer (cancelled).
    "money enters or leaves a collection only by its contributions, payout and refunds": (
        "SELECT t.transfer_id FROM transfers t"
        " JOIN accounts a ON a.account_id IN (t.from_account_id, t.to_account_id)"
        " WHERE a.kind = 'COLLECTION' AND t.collection_id IS DISTINCT FROM a.account_id"
    ),
    "a collection holds its contributions until it closes or is cancelled, then nothing": (
        "SELECT c.collection_id FROM collections c"
        " JOIN accounts a ON a.account_id = c.collection_id"
        " WHERE account_balance_cents(a) <> CASE WHEN c.state = 'OPEN' THEN"
        "  (SELECT coalesce(sum(amount_cents), 0) FROM transfers t"
        "    WHERE t.collection_id = c.collection_id AND t.kind = 'PAYMENT'"
        "    AND t.state = 'COMPLETED') ELSE 0 END"
        " OR a.held_cents <> 0"
    ),
    "a closed collection paid its owner all it collected, once; a cancelled one paid"
    " each payer back what they paid": (
        "SELECT c.collection_id FROM collections c"
        " LEFT JOIN LATERAL (SELECT t.from_account_id AS payer, sum(t.amount_cents) AS cents"
        "   FROM transfers t WHERE t.collection_id = c.collection_id AND t.kind = 'PAYMENT'"
        "   AND t.state = 'COMPLETED' GROUP BY t.from_account_id) paid ON true"
        " GROUP BY c.collection_id, c.state, c.owner_account_id"
        " HAVING (SELECT count(*) FROM transfers p WHERE p.collection_id = c.collection_id"
        "          AND p.kind = 'COLLECTION_PAYOUT')"
        "   <> CASE WHEN c.state = 'CLOSED' AND coalesce(sum(paid.cents), 0) > 0 THEN 1 ELSE 0 END"
        " OR coalesce(sum(paid.cents), 0) * (c.state = 'CLOSED')::int"
        "   <> (SELECT coalesce(sum(p.amount_cents), 0) FROM transfers p"
        "        WHERE p.collection_id = c.collection_id AND p.kind = 'COLLECTION_PAYOUT'"
        "        AND p.to_account_id = c.owner_account_id)"
        " OR (SELECT count(*) FROM transfers r WHERE r.collection_id = c.collection_id"
        "      AND r.kind IN ('REFUND', 'COLLECTION_REFUND')) > 0 AND c.state <> 'CANCELLED'"
        " OR bool_or(c.state = 'CANCELLED' AND paid.cents"
        "   <> (SELECT coalesce(sum(r.amount_cents), 0) FROM transfers r"
        "        WHERE r.collection_id = c.collection_id"
        "        AND r.kind IN ('REFUND', 'COLLECTION_REFUND')"
        "        AND r.to_account_id = paid.payer))"
    ),
    # Bulk transfers (migration 0015): no batch debits a person; a settlement
    # account is moved only by batches and credits.
    "a LEDGER transfer debits only a settlement account, a merchant or an association": (
        "SELECT t.transfer_id FROM transfers t JOIN accounts a ON a.account_id = t.from_account_id"
        " WHERE t.kind = 'LEDGER' AND a.kind NOT IN ('SETTLEMENT', 'MERCHANT', 'ASSOCIATION')"
    ),
    "a settlement account takes part only in LEDGER and FUNDING transfers": (
        "SELECT t.transfer_id FROM transfers t"
        " JOIN accounts a ON a.account_id IN (t.from_account_id, t.to_account_id)"
        " WHERE a.kind = 'SETTLEMENT' AND t.kind NOT IN ('LEDGER', 'FUNDING')"
    ),
    "one outbox event per resolved collection, none while open": (
        "SELECT c.collection_id FROM collections c"
        " WHERE (SELECT count(*) FROM outbox_events e WHERE e.collection_id = c.collection_id)"
        " <> CASE c.state WHEN 'OPEN' THEN 0 ELSE 1 END"
    ),
    # Webhooks (migration 0023): acknowledged means a 2xx was recorded with it;
    # an endpoint is disabled exactly when a delivery failed for good, and its
    # owner told once.
    "a webhook delivery succeeded only with a 2xx attempt": (
        "SELECT d.delivery_id FROM webhook_deliveries d WHERE d.state = 'SUCCEEDED'"
        " AND NOT EXISTS (SELECT FROM webhook_attempts a WHERE a.delivery_id = d.delivery_id"
        "  AND a.status_code BETWEEN 200 AND 299)"
    ),
    "a webhook endpoint is disabled, and its owner told once, when a delivery failed": (
        "SELECT e.endpoint_id FROM webhook_endpoints e"
        " WHERE (e.disable_time IS NOT NULL) <> EXISTS (SELECT FROM webhook_deliveries d"
        "  WHERE d.endpoint_id = e.endpoint_id AND d.state = 'FAILED')"
        " OR (SELECT count(*) FROM outbox_events o WHERE o.webhook_endpoint_id = e.endpoint_id)"
        "  <> (e.disable_time IS NOT NULL)::int"
    ),
    # Freezing and closing (migration 0025). A transaction that moved money
    # held the account's row before the change locked it, so it started
    # before: its postings are dated before the change. (Postings are dated
    # at their transaction's start: one that waited for an unfreeze's lock and
    # posted after it would look frozen; no test races an unfreeze.)
    "a closed account holds nothing, has no identity, and no posting after its close": (
        "SELECT a.account_id FROM accounts a WHERE a.close_time IS NOT NULL"
        " AND (account_balance_cents(a) <> 0 OR a.held_cents <> 0"
        "  OR EXISTS (SELECT 1 FROM identities i WHERE i.account_id = a.account_id)"
        "  OR EXISTS (SELECT 1 FROM postings p WHERE p.account_id = a.account_id"
        "             AND p.create_time >= a.close_time))"
    ),
    "no money leaves a frozen account while it is frozen (but a payout asked before settles)": (
        "SELECT p.posting_id FROM account_status_changes f"
        " JOIN postings p ON p.account_id = f.account_id AND p.amount_cents < 0"
        "  AND p.create_time >= f.change_time"
        " JOIN transfers t ON t.transfer_id = p.transfer_id AND t.kind <> 'PAYOUT'"
        " WHERE f.change = 'FROZEN' AND p.create_time < coalesce("
        "  (SELECT min(u.change_time) FROM account_status_changes u"
        "    WHERE u.account_id = f.account_id AND u.change = 'UNFROZEN'"
        "    AND u.change_time > f.change_time), 'infinity')"
    ),
    "an account is frozen exactly when its last freeze or unfreeze was a freeze": (
        "SELECT a.account_id FROM accounts a"
        " WHERE (a.freeze_time IS NOT NULL) IS DISTINCT FROM (SELECT c.change = 'FROZEN'"
        "  FROM account_status_changes c WHERE c.account_id = a.account_id"
        "  AND c.change <> 'CLOSED' ORDER BY c.change_time DESC LIMIT 1)"
        " AND (a.freeze_time IS NOT NULL OR EXISTS (SELECT 1 FROM account_status_changes c"
        "  WHERE c.account_id = a.account_id AND c.change <> 'CLOSED'))"
    ),
}


def assert_ledger_invariants(database: str | psycopg.Connection) -> None:
    """Check on a database URL, or inside an open connection's transaction."""
    if isinstance(database, str):
        with psycopg.connect(database) as conn:
            return assert_ledger_invariants(conn)
    broken = {
        name: rows for name, sql in CHECKS.items() if (rows := database.execute(sql).fetchall())
    }
    assert not broken, f"ledger invariants broken: {broken}"
