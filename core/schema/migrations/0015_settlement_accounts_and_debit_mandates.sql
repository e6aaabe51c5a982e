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

-- Its functions and triggers live in core/schema/functions/: forbid_change, debit_mandate_changes_apply, ledger_transfers_check_accounts, settlement_accounts_batches_only, payouts_not_from_settlement.
