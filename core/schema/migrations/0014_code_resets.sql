-- Code resets (AccountService.ResetCode, admin only) and their cooling-off
-- hold. ChangeCode needs the current code; a forgotten or locked code is
-- reset only by an admin, and then, for ENVOI_CODE_RESET_HOLD_S, no money
-- leaves the account by a path that needs its code: so a stolen admin
-- session or a tricked support agent gives the owner time to notice (the
-- CODE_RESET event) before anything moves. The rules, here next to the data:
--   * every reset is recorded, never changed or deleted: who (the admin
--     token), why, when, until when money out is held;
--   * while accounts.code_hold_end_time is in the future, a payment the
--     account pays is not confirmed (PENDING_CONFIRMATION -> COMPLETED or
--     AWAITING_CLAIM) and no payout of it is requested. The service refuses
--     first, with CODE_RESET_HOLD; these triggers are the last word.
--     Money in, and paths that need no code, are not held.

ALTER TABLE accounts ADD COLUMN code_hold_end_time timestamptz;

CREATE TABLE code_resets (
    code_reset_id uuid PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts,
    reset_by_principal text NOT NULL,
    reset_by_token_id text NOT NULL,
    reason text NOT NULL CHECK (length(reason) BETWEEN 1 AND 500),
    reset_time timestamptz NOT NULL DEFAULT now(),
    hold_end_time timestamptz NOT NULL,
    CHECK (hold_end_time > reset_time)
);
CREATE INDEX code_resets_account ON code_resets (account_id, reset_time);

-- Its functions and triggers live in core/schema/functions/: forbid_change, code_resets_apply, require_no_code_reset_hold, code_hold_transfers_check, code_hold_payouts_check.

-- The owner is told, in the transaction of the reset.
ALTER TABLE outbox_events ADD COLUMN code_reset_id uuid REFERENCES code_resets;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_one_subject;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_one_subject
    CHECK (num_nonnulls(transfer_id, top_up_id, payout_id, collection_id, code_reset_id) = 1);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED',
    'TOP_UP_SUCCEEDED', 'TOP_UP_FAILED',
    'PAYOUT_REQUESTED', 'PAYOUT_SETTLED', 'PAYOUT_FAILED',
    'COLLECTION_CLOSED', 'COLLECTION_CANCELLED',
    'CODE_RESET'));
CREATE INDEX outbox_events_code_reset ON outbox_events (code_reset_id)
    WHERE code_reset_id IS NOT NULL;
