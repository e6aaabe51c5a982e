-- Set-based bookkeeping for batches. A batch inserts its LEDGER transfers
-- with one statement; instead of one trigger call per transfer (two posting
-- inserts, two balance updates, one event each), one call per statement
-- writes all their postings and events, and the postings of a statement
-- update each balance once, by their sum. The rules are the same: postings
-- of a transfer sum to zero (postings_balanced checks each statement),
-- balances are the sum of postings, the floor CHECK holds after every
-- statement, one TRANSFER_COMPLETED event per LEDGER transfer, and a LEDGER
-- transfer never changes (transfers_apply skips them).
CREATE OR REPLACE FUNCTION ledger_transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- Every insert of transfers fires it: one that wrote no batch leaves at once
    -- (else its empty INSERTs would fire the postings' and the outbox's triggers).
    IF NOT EXISTS (SELECT FROM inserted WHERE kind = 'LEDGER') THEN
        RETURN NULL;
    END IF;
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
CREATE OR REPLACE TRIGGER ledger_transfers_apply AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_apply();
