-- Bulk transfers (TransferService.CreateTransfers) for internal services:
--   * a new token role, ledger, that may only post batches of transfers;
--   * a new transfer kind, LEDGER: posted at once as COMPLETED (no code, no
--     hold), with an id the caller chose. The triggers of 0001/0002 do the
--     bookkeeping as for any completed transfer: two postings, the balances,
--     the floor CHECK and one TRANSFER_COMPLETED outbox event each.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('channel', 'wallet', 'merchant', 'admin', 'ledger'));

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
    CHECK (kind IN ('PAYMENT', 'FUNDING', 'PAYOUT', 'LEDGER'));

-- A LEDGER transfer is never pending: it is posted when it is written.
ALTER TABLE transfers ADD CONSTRAINT ledger_transfers_posted
    CHECK (kind <> 'LEDGER' OR state = 'COMPLETED');

-- Set-based bookkeeping for batches. A batch inserts its LEDGER transfers
-- with one statement; instead of one trigger call per transfer (two posting
-- inserts, two balance updates, one event each), one call per statement
-- writes all their postings and events, and the postings of a statement
-- update each balance once, by their sum. The rules are the same: postings
-- of a transfer sum to zero (the deferred check of 0001 still runs per
-- posting), balances are the sum of postings, the floor CHECK holds after
-- every statement, one TRANSFER_COMPLETED event per LEDGER transfer, and a
-- LEDGER transfer never changes.
DROP TRIGGER transfers_apply ON transfers;
CREATE TRIGGER transfers_apply AFTER INSERT ON transfers
    FOR EACH ROW WHEN (NEW.kind <> 'LEDGER') EXECUTE FUNCTION transfers_apply();
CREATE TRIGGER transfers_apply_update AFTER UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_apply();
-- Completed when written: like any resolved transfer, it never changes.
CREATE TRIGGER ledger_transfers_immutable BEFORE UPDATE ON transfers
    FOR EACH ROW WHEN (OLD.kind = 'LEDGER' OR NEW.kind = 'LEDGER')
    EXECUTE FUNCTION forbid_change();

CREATE FUNCTION ledger_transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)
    SELECT t.transfer_id, leg.account_id, t.currency_code, leg.amount_cents
      FROM inserted t
     CROSS JOIN LATERAL (VALUES (1, t.from_account_id, -t.amount_cents),
                                (2, t.to_account_id, t.amount_cents))
           AS leg(n, account_id, amount_cents)
     WHERE t.kind = 'LEDGER'
     ORDER BY t.seq, leg.n;
    INSERT INTO outbox_events (event_type, transfer_id)
    SELECT 'TRANSFER_COMPLETED', t.transfer_id FROM inserted t
     WHERE t.kind = 'LEDGER' ORDER BY t.seq;
    RETURN NULL;
END $$;
CREATE TRIGGER ledger_transfers_apply AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_apply();

-- Postings keep the cached balance equal to their sum: one update per
-- account and statement (a transfer's two legs are on two accounts).
DROP TRIGGER postings_apply ON postings;
DROP FUNCTION postings_apply();
CREATE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Lock in account_id order, as the services do, so that no two
    -- statements wait on each other in a circle.
    PERFORM 1 FROM accounts WHERE account_id IN (SELECT account_id FROM inserted)
     ORDER BY account_id FOR NO KEY UPDATE;
    UPDATE accounts a SET balance_cents = a.balance_cents + d.delta_cents
      FROM (SELECT account_id, sum(amount_cents) AS delta_cents
              FROM inserted GROUP BY account_id) d
     WHERE a.account_id = d.account_id;
    RETURN NULL;
END $$;
CREATE TRIGGER postings_apply AFTER INSERT ON postings
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION postings_apply();
