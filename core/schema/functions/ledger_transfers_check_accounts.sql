-- The last word on batches: every LEDGER transfer of a statement debits a
-- SETTLEMENT account or one with a live mandate, and credits no SYSTEM or
-- COLLECTION account. The debited rows are locked (in account_id order, as
-- everywhere) so that a mandate revoked by a transaction that committed
-- meanwhile is seen.
CREATE OR REPLACE FUNCTION ledger_transfers_check_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused record;
BEGIN
    -- Every insert of transfers fires it: one that wrote no batch leaves at once
    -- (else its empty INSERTs would fire the postings' and the outbox's triggers).
    IF NOT EXISTS (SELECT FROM inserted WHERE kind = 'LEDGER') THEN
        RETURN NULL;
    END IF;
    PERFORM 1 FROM accounts
     WHERE account_id IN (SELECT from_account_id FROM inserted WHERE kind = 'LEDGER')
     ORDER BY account_id FOR NO KEY UPDATE;
    SELECT a.account_id, a.kind INTO refused
      FROM accounts a
     WHERE a.account_id IN (SELECT from_account_id FROM inserted WHERE kind = 'LEDGER')
       AND a.kind <> 'SETTLEMENT' AND a.debit_mandate_time IS NULL
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a LEDGER transfer may not debit % account %', refused.kind,
            refused.account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_debit_allowed';
    END IF;
    SELECT a.account_id, a.kind INTO refused
      FROM accounts a
     WHERE a.account_id IN (SELECT to_account_id FROM inserted WHERE kind = 'LEDGER')
       AND a.kind IN ('SYSTEM', 'COLLECTION')
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'a LEDGER transfer may not credit % account %', refused.kind,
            refused.account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'ledger_credit_allowed';
    END IF;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER ledger_transfers_check_accounts AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_check_accounts();
