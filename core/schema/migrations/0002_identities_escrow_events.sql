-- Social identities, escrow for recipients without an account, and an
-- outbox that readers can follow without gaps.

-- One identity belongs to at most one account.
CREATE TABLE identities (
    namespace text NOT NULL CHECK (namespace ~ '^[a-z][a-z0-9_-]{0,31}$'),
    subject_id text NOT NULL CHECK (length(subject_id) BETWEEN 1 AND 64),
    handle text NOT NULL DEFAULT '' CHECK (length(handle) <= 64),
    account_id uuid NOT NULL REFERENCES accounts,
    link_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (namespace, subject_id)
);
CREATE INDEX identities_account ON identities (account_id);
CREATE INDEX identities_handle ON identities (namespace, lower(handle));

ALTER TABLE transfers
    ADD COLUMN from_namespace text,
    ADD COLUMN from_subject_id text,
    ADD COLUMN from_handle text,
    ADD COLUMN to_namespace text,
    ADD COLUMN to_subject_id text,
    ADD COLUMN to_handle text,
    ADD COLUMN channel_reference text NOT NULL DEFAULT '' CHECK (length(channel_reference) <= 128),
    ADD COLUMN claim_expire_time timestamptz,
    ADD CONSTRAINT from_identity_whole
        CHECK ((from_namespace IS NULL) = (from_subject_id IS NULL)),
    ADD CONSTRAINT to_identity_whole
        CHECK ((to_namespace IS NULL) = (to_subject_id IS NULL)),
    -- Only money sent to an identity can wait for it, and only until a deadline.
    ADD CONSTRAINT awaiting_claim_has_identity_and_deadline
        CHECK (state <> 'AWAITING_CLAIM'
               OR (to_subject_id IS NOT NULL AND claim_expire_time IS NOT NULL));
ALTER TABLE transfers DROP CONSTRAINT transfers_state_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_state_check CHECK (state IN (
    'PENDING_CONFIRMATION', 'COMPLETED', 'CANCELLED', 'EXPIRED', 'AWAITING_CLAIM', 'REFUNDED'));
CREATE INDEX transfers_awaiting_claim ON transfers (to_namespace, to_subject_id)
    WHERE state = 'AWAITING_CLAIM';
CREATE INDEX transfers_claim_expiry ON transfers (claim_expire_time)
    WHERE state = 'AWAITING_CLAIM';

-- Readers follow events in (tx_id, event_id) order and read only below the
-- oldest transaction still running, so an event committed late by an older
-- transaction is never skipped.
ALTER TABLE outbox_events ADD COLUMN tx_id xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX outbox_events_order ON outbox_events (tx_id, event_id);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED'));

-- Its functions and triggers live in core/schema/functions/: transfers_apply.
