-- Collections: a charity drive or a crowdfunding, named by a hashtag
-- (`@bot #envoyer 5€ #TelethonACF`). The rules, here next to the data:
--   * a collection is an account of kind COLLECTION (no code, floor 0) that
--     takes its credits deferred (0010): thousands of contributions a minute
--     never queue on its row;
--   * money enters it only by contributions: PAYMENT transfers with its
--     collection_id, completed while it is OPEN and before its deadline;
--     money leaves it only by its one COLLECTION_PAYOUT to the owner (CLOSED)
--     or by COLLECTION_REFUND transfers, one per completed contribution, back
--     to each payer (CANCELLED). Both are made here, by the trigger, with the
--     whole balance: no caller names an amount;
--   * a collection resolves once: OPEN -> CLOSED | CANCELLED;
--   * a contribution completing takes a FOR KEY SHARE lock on the collection
--     (contributions never wait for one another); closing or cancelling
--     takes FOR UPDATE, which waits for the contributions completing now and
--     makes the later ones see the new state: none lands after the payout.

ALTER TABLE accounts DROP CONSTRAINT accounts_kind_check;
ALTER TABLE accounts ADD CONSTRAINT accounts_kind_check
    CHECK (kind IN ('PERSON', 'ASSOCIATION', 'MERCHANT', 'SYSTEM', 'COLLECTION'));
-- A collection has no confirmation code: it never pays anyone by itself.
ALTER TABLE accounts DROP CONSTRAINT accounts_check1;
ALTER TABLE accounts ADD CONSTRAINT accounts_floor_and_code CHECK (
    kind = 'SYSTEM'
    OR (floor_cents IS NOT NULL AND (code_hmac IS NOT NULL) = (kind <> 'COLLECTION')));

-- Its functions and triggers live in core/schema/functions/: accounts_credits_deferred_by_kind, forbid_change, collection_transfers_check, collections_check, collections_apply.

CREATE TABLE collections (
    -- The collection's own account: one id for both.
    collection_id uuid PRIMARY KEY REFERENCES accounts (account_id),
    -- Creation order, for an owner's list.
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    owner_account_id uuid NOT NULL REFERENCES accounts (account_id),
    title text NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    -- Without '#'; unique among open collections, in any case.
    hashtag text NOT NULL CHECK (hashtag ~ '^[A-Za-z0-9_]{3,50}$' AND hashtag ~ '[A-Za-z]'),
    target_cents bigint CHECK (target_cents > 0),
    deadline_time timestamptz,
    state text NOT NULL DEFAULT 'OPEN' CHECK (state IN ('OPEN', 'CLOSED', 'CANCELLED')),
    initiated_by text NOT NULL,
    -- Who closed or cancelled it: the payout and refunds are theirs.
    resolved_by text,
    create_time timestamptz NOT NULL DEFAULT now(),
    resolve_time timestamptz,
    CHECK (collection_id <> owner_account_id),
    CHECK ((state = 'OPEN') = (resolve_time IS NULL)),
    CHECK ((state = 'OPEN') = (resolved_by IS NULL))
);
CREATE UNIQUE INDEX collections_open_hashtag ON collections (lower(hashtag)) WHERE state = 'OPEN';
CREATE INDEX collections_hashtag ON collections (lower(hashtag), create_time);
CREATE INDEX collections_owner ON collections (owner_account_id, seq);

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN (
    'PAYMENT', 'FUNDING', 'PAYOUT', 'LEDGER', 'COLLECTION_PAYOUT', 'COLLECTION_REFUND'));
ALTER TABLE transfers
    ADD COLUMN collection_id uuid REFERENCES collections,
    -- A contribution pays the collection; its payout and refunds come from it.
    ADD CONSTRAINT collection_transfers_sides CHECK (
        collection_id IS NULL
        OR (kind = 'PAYMENT' AND collection_id = to_account_id)
        OR (kind IN ('COLLECTION_PAYOUT', 'COLLECTION_REFUND')
            AND collection_id = from_account_id AND state = 'COMPLETED')),
    ADD CONSTRAINT collection_transfers_named CHECK (
        kind NOT IN ('COLLECTION_PAYOUT', 'COLLECTION_REFUND') OR collection_id IS NOT NULL);
-- Totals and contributor counts read the contributions of one collection.
CREATE INDEX transfers_collection_contributions ON transfers (collection_id, state)
    INCLUDE (from_account_id, amount_cents)
    WHERE kind = 'PAYMENT' AND collection_id IS NOT NULL;
-- Its payout and refunds.
CREATE INDEX transfers_collection_out ON transfers (collection_id, kind)
    WHERE kind IN ('COLLECTION_PAYOUT', 'COLLECTION_REFUND');

-- Events may now be about a collection.
ALTER TABLE outbox_events ADD COLUMN collection_id uuid REFERENCES collections;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_one_subject;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_one_subject
    CHECK (num_nonnulls(transfer_id, top_up_id, payout_id, collection_id) = 1);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED',
    'TOP_UP_SUCCEEDED', 'TOP_UP_FAILED',
    'PAYOUT_REQUESTED', 'PAYOUT_SETTLED', 'PAYOUT_FAILED',
    'COLLECTION_CLOSED', 'COLLECTION_CANCELLED'));
CREATE INDEX outbox_events_collection ON outbox_events (collection_id)
    WHERE collection_id IS NOT NULL;
