-- Bulk transfers never debit a person (issue 13, finding 3).
--   * a new account kind, SETTLEMENT: envoi's own clearing accounts (money
--     between envoi and a partner bank or a card acquirer), opened by an
--     admin, floor 0. They take part only in LEDGER transfers (batches) and
--     FUNDING credits: no payment, payout or claim reaches them.
--   * debit mandates: an admin records that batches may debit a MERCHANT or
--     an ASSOCIATION account; every change is kept (who, why, when).
--   * a LEDGER transfer debits only a SETTLEMENT account or an account with
--     a live mandate, and credits only customer accounts, whatever the SQL
--     that inserts it. LEDGER transfers posted before this migration are
--     left as they are (postings never change); they may have debited people.
ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('PERSON', 'ASSOCIATION', 'MERCHANT', 'SYSTEM', 'COLLECTION', 'SETTLEMENT'));

-- The live mandate, on the row CreateTransfers locks: set and cleared only by
-- the trigger of debit_mandate_changes below. Never on a person's account.
ALTER TABLE accounts
    ADD COLUMN debit_mandate_reason text,
    ADD COLUMN debit_mandate_time timestamptz,
    ADD CONSTRAINT debit_mandate_kinds
        CHECK (debit_mandate_time IS NULL OR kind IN ('MERCHANT', 'ASSOCIATION')),
    ADD CONSTRAINT debit_mandate_whole
        CHECK ((debit_mandate_reason IS NULL) = (debit_mandate_time IS NULL));

-- Every grant and revocation, as it was recorded: never updated or deleted.
CREATE TABLE debit_mandate_changes (
    change_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts,
    active boolean NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 280),
    principal text NOT NULL,
    token_id uuid NOT NULL,
    change_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX debit_mandate_changes_account ON debit_mandate_changes (account_id, change_id);
CREATE TRIGGER debit_mandate_changes_immutable BEFORE UPDATE OR DELETE ON debit_mandate_changes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION debit_mandate_changes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts
       SET debit_mandate_reason = CASE WHEN NEW.active THEN NEW.reason END,
           debit_mandate_time = CASE WHEN NEW.active THEN NEW.change_time END
     WHERE account_id = NEW.account_id;
    RETURN NULL;
END $$;
CREATE TRIGGER debit_mandate_changes_apply AFTER INSERT ON debit_mandate_changes
    FOR EACH ROW EXECUTE FUNCTION debit_mandate_changes_apply();

-- The last word on batches: every LEDGER transfer of a statement debits a
-- SETTLEMENT account or one with a live mandate, and credits no SYSTEM or
-- COLLECTION account. The debited rows are locked (in account_id order, as
-- everywhere) so that a mandate revoked by a transaction that committed
-- meanwhile is seen.
CREATE FUNCTION ledger_transfers_check_accounts() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    refused record;
BEGIN
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
CREATE TRIGGER ledger_transfers_check_accounts AFTER INSERT ON transfers
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_transfers_check_accounts();

-- A settlement account is moved only by batches and credits: no payment
-- (from it or to it), payout, collection transfer or claim.
CREATE FUNCTION settlement_accounts_batches_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts
                WHERE account_id IN (NEW.from_account_id, NEW.to_account_id)
                  AND kind = 'SETTLEMENT') THEN
        RAISE EXCEPTION 'a settlement account takes part only in LEDGER and FUNDING transfers'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_batches_only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER transfers_settlement_batches_only BEFORE INSERT OR UPDATE OF to_account_id
    ON transfers FOR EACH ROW WHEN (NEW.kind NOT IN ('LEDGER', 'FUNDING'))
    EXECUTE FUNCTION settlement_accounts_batches_only();

CREATE FUNCTION payouts_not_from_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE account_id = NEW.account_id
                                        AND kind = 'SETTLEMENT') THEN
        RAISE EXCEPTION 'a settlement account is not withdrawn from'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_batches_only';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER payouts_not_from_settlement BEFORE INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_not_from_settlement();
