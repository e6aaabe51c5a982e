-- A settlement account is moved only by batches and credits: no payment
-- (from it or to it), payout, collection transfer or claim.
CREATE OR REPLACE FUNCTION settlement_accounts_batches_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts
                WHERE account_id IN (NEW.from_account_id, NEW.to_account_id)
                  AND kind = 'SETTLEMENT') THEN
        RAISE EXCEPTION 'a settlement account takes part only in LEDGER and FUNDING transfers'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_batches_only';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER transfers_settlement_batches_only BEFORE INSERT OR UPDATE OF to_account_id
    ON transfers FOR EACH ROW WHEN (NEW.kind NOT IN ('LEDGER', 'FUNDING'))
    EXECUTE FUNCTION settlement_accounts_batches_only();
