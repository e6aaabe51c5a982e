-- Freezing and closing accounts (issue 17). An admin freezes an account with
-- a reason: no money leaves it by any path until an admin unfreezes it;
-- money in still arrives, as it does to a frozen bank account. Its owner (or
-- an admin) closes an account once it holds nothing and nothing is pending:
-- then no money goes in or out, ever, and its identities are unlinked in the
-- same transaction, so that they can be linked elsewhere (money paid to them
-- afterwards waits in escrow). The rules, here next to the data:
--   * every freeze, unfreeze and close is recorded, never changed: who, why,
--     when; each writes its outbox event in the same transaction;
--   * one rule, account_status_refusal, read under a lock that waits for a
--     freeze or a close in flight, is the last word where money moves: on
--     transfers (created, confirmed, claimed, returned from escrow) and on
--     payouts and card top-ups (requested);
--   * a closed account's balance and hold stay 0 (CHECK), and it never opens
--     again (accounts_close_check).
ALTER TABLE accounts
    ADD COLUMN freeze_time timestamptz,
    ADD COLUMN freeze_reason text,
    ADD COLUMN close_time timestamptz,
    ADD CONSTRAINT accounts_freeze_reason CHECK (
        (freeze_time IS NULL) = (freeze_reason IS NULL)
        AND (freeze_reason IS NULL OR length(freeze_reason) BETWEEN 1 AND 280)),
    ADD CONSTRAINT accounts_system_never_frozen_nor_closed CHECK (
        kind <> 'SYSTEM' OR (freeze_time IS NULL AND close_time IS NULL)),
    ADD CONSTRAINT closed_accounts_hold_nothing CHECK (
        close_time IS NULL OR (balance_cents = 0 AND held_cents = 0));

CREATE TABLE account_status_changes (
    account_status_change_id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts,
    change text NOT NULL CHECK (change IN ('FROZEN', 'UNFROZEN', 'CLOSED')),
    -- Required from an admin; an owner closing their account may give none.
    reason text NOT NULL CHECK (length(reason) <= 280),
    changed_by_principal text NOT NULL,
    changed_by_token_id text NOT NULL,
    change_time timestamptz NOT NULL,
    CHECK (change = 'CLOSED' OR length(reason) >= 1)
);
CREATE INDEX account_status_changes_account ON account_status_changes (account_id, change_time);
GRANT SELECT, INSERT ON account_status_changes TO envoi_server;
-- The webhooks worker (0023) builds the events about them.
GRANT SELECT ON account_status_changes TO envoi_webhooks;

-- The owner is told, in the transaction of the change. The event types and
-- the subjects are extended in place (not listed again), so that this
-- migration keeps whatever the ones before it added.
ALTER TABLE outbox_events
    ADD COLUMN account_status_change_id uuid REFERENCES account_status_changes;
DO $$
DECLARE
    definition text;
BEGIN
    SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
     WHERE conrelid = 'outbox_events'::regclass AND conname = 'outbox_events_event_type_check';
    EXECUTE 'ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check';
    EXECUTE 'ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check '
        || replace(definition, '''CODE_RESET''::text',
                   '''CODE_RESET''::text, ''ACCOUNT_FROZEN''::text, '
                   || '''ACCOUNT_UNFROZEN''::text, ''ACCOUNT_CLOSED''::text');
    SELECT pg_get_constraintdef(oid) INTO definition FROM pg_constraint
     WHERE conrelid = 'outbox_events'::regclass AND conname = 'outbox_events_one_subject';
    EXECUTE 'ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_one_subject';
    EXECUTE 'ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_one_subject '
        || replace(definition, 'code_reset_id', 'code_reset_id, account_status_change_id');
END $$;
CREATE INDEX outbox_events_account_status_change ON outbox_events (account_status_change_id)
    WHERE account_status_change_id IS NOT NULL;

-- Its functions and triggers live in core/schema/functions/: account_status_refusal,
-- account_close_refusal, account_status_change, account_status_transfers_check,
-- account_status_row_check, accounts_close_check, forbid_change; and for
-- refunds to a closed payer, refund_to_escrow.

-- A refund to a payer whose account closed waits in escrow for the identity
-- the payer paid from (AWAITING_CLAIM), as any payment to an identity nobody
-- linked: whoever links it next claims it, or the claim window returns it to
-- the refunder (with its fee back to FEE_REVENUE). Its refund_of still
-- counts it against the payment.
ALTER TABLE transfers
    DROP CONSTRAINT refunds_complete_at_once,
    ADD CONSTRAINT refunds_complete_at_once CHECK (
        kind <> 'REFUND' OR state IN ('COMPLETED', 'AWAITING_CLAIM', 'REFUNDED'));
