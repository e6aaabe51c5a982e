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

-- Two-phase transfers, now with escrow:
--   PENDING_CONFIRMATION -> COMPLETED | AWAITING_CLAIM | CANCELLED | EXPIRED
--   AWAITING_CLAIM -> COMPLETED (claimed: to_account_id becomes the claimer)
--                   | REFUNDED (the money goes back to the sender)
CREATE OR REPLACE FUNCTION transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'PENDING_CONFIRMATION' THEN
            UPDATE accounts SET held_cents = held_cents + NEW.amount_cents
             WHERE account_id = NEW.from_account_id;
            event := 'CONFIRMATION_REQUIRED';
        ELSIF NEW.state = 'COMPLETED' THEN
            INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)
            VALUES (NEW.transfer_id, NEW.from_account_id, NEW.currency_code, -NEW.amount_cents),
                   (NEW.transfer_id, NEW.to_account_id, NEW.currency_code, NEW.amount_cents);
            event := 'TRANSFER_COMPLETED';
        ELSE
            RAISE EXCEPTION 'a transfer starts pending or completed'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF (NEW.transfer_id, NEW.seq, NEW.kind, NEW.from_account_id, NEW.currency_code,
            NEW.amount_cents, NEW.memo, NEW.initiated_by, NEW.create_time, NEW.expire_time,
            NEW.from_namespace, NEW.from_subject_id, NEW.from_handle,
            NEW.to_namespace, NEW.to_subject_id, NEW.to_handle, NEW.channel_reference)
           IS DISTINCT FROM
           (OLD.transfer_id, OLD.seq, OLD.kind, OLD.from_account_id, OLD.currency_code,
            OLD.amount_cents, OLD.memo, OLD.initiated_by, OLD.create_time, OLD.expire_time,
            OLD.from_namespace, OLD.from_subject_id, OLD.from_handle,
            OLD.to_namespace, OLD.to_subject_id, OLD.to_handle, OLD.channel_reference) THEN
            RAISE EXCEPTION 'a transfer may only change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.to_account_id <> OLD.to_account_id
           AND NOT (OLD.state = 'AWAITING_CLAIM' AND NEW.state = 'COMPLETED') THEN
            RAISE EXCEPTION 'only a claim changes the recipient'
                USING ERRCODE = 'restrict_violation';
        END IF;

        IF OLD.state = 'PENDING_CONFIRMATION'
           AND NEW.state IN ('COMPLETED', 'AWAITING_CLAIM', 'CANCELLED', 'EXPIRED') THEN
            UPDATE accounts SET held_cents = held_cents - OLD.amount_cents
             WHERE account_id = OLD.from_account_id;
            IF NEW.state IN ('COMPLETED', 'AWAITING_CLAIM') THEN
                INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)
                VALUES (NEW.transfer_id, NEW.from_account_id, NEW.currency_code,
                        -NEW.amount_cents),
                       (NEW.transfer_id, NEW.to_account_id, NEW.currency_code, NEW.amount_cents);
            END IF;
            event := CASE NEW.state
                         WHEN 'COMPLETED' THEN 'TRANSFER_COMPLETED'
                         WHEN 'AWAITING_CLAIM' THEN 'TRANSFER_AWAITING_CLAIM'
                         WHEN 'CANCELLED' THEN 'TRANSFER_CANCELLED'
                         ELSE 'TRANSFER_EXPIRED' END;
        ELSIF OLD.state = 'AWAITING_CLAIM' AND NEW.state IN ('COMPLETED', 'REFUNDED') THEN
            -- Out of escrow (the old recipient) to the claimer or back to the sender.
            INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)
            VALUES (NEW.transfer_id, OLD.to_account_id, NEW.currency_code, -NEW.amount_cents),
                   (NEW.transfer_id,
                    CASE NEW.state WHEN 'COMPLETED' THEN NEW.to_account_id
                                   ELSE NEW.from_account_id END,
                    NEW.currency_code, NEW.amount_cents);
            event := CASE NEW.state WHEN 'COMPLETED' THEN 'TRANSFER_CLAIMED'
                                    ELSE 'TRANSFER_REFUNDED' END;
        ELSE
            RAISE EXCEPTION 'transfer % cannot go from % to %',
                OLD.transfer_id, OLD.state, NEW.state
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;

    INSERT INTO outbox_events (event_type, transfer_id) VALUES (event, NEW.transfer_id);
    RETURN NULL;
END $$;
