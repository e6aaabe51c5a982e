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

CREATE OR REPLACE FUNCTION accounts_credits_deferred_by_kind() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.credits_deferred := NEW.kind IN ('ASSOCIATION', 'COLLECTION')
                            OR NEW.system_purpose IS NOT DISTINCT FROM 'ESCROW';
    RETURN NEW;
END $$;

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
CREATE TRIGGER collections_no_delete BEFORE DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

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

-- The collection of a transfer never changes; a contribution completes only
-- while its collection takes payments (the service checks first, with the
-- same lock: this is the last word).
CREATE FUNCTION collection_transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c collections;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.collection_id IS DISTINCT FROM OLD.collection_id THEN
        RAISE EXCEPTION 'the collection of a transfer never changes'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.kind = 'PAYMENT' AND NEW.state = 'COMPLETED' THEN
        SELECT * INTO c FROM collections WHERE collection_id = NEW.collection_id FOR KEY SHARE;
        IF c.state <> 'OPEN' OR c.deadline_time <= now() THEN
            RAISE EXCEPTION 'collection % takes no payments', NEW.collection_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'collection_open';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER collection_transfers_check BEFORE INSERT OR UPDATE ON transfers
    FOR EACH ROW WHEN (NEW.collection_id IS NOT NULL)
    EXECUTE FUNCTION collection_transfers_check();
CREATE TRIGGER collection_transfers_fixed BEFORE UPDATE ON transfers
    FOR EACH ROW WHEN (OLD.collection_id IS DISTINCT FROM NEW.collection_id)
    EXECUTE FUNCTION collection_transfers_check();

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

-- OPEN -> CLOSED | CANCELLED, once; nothing else changes.
CREATE FUNCTION collections_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'OPEN' THEN
            RAISE EXCEPTION 'a collection starts open' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.state <> 'OPEN' OR NEW.state NOT IN ('CLOSED', 'CANCELLED') THEN
        RAISE EXCEPTION 'collection % cannot go from % to %', OLD.collection_id, OLD.state,
            NEW.state USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.collection_id, NEW.seq, NEW.owner_account_id, NEW.title, NEW.hashtag,
        NEW.target_cents, NEW.deadline_time, NEW.initiated_by, NEW.create_time)
       IS DISTINCT FROM
       (OLD.collection_id, OLD.seq, OLD.owner_account_id, OLD.title, OLD.hashtag,
        OLD.target_cents, OLD.deadline_time, OLD.initiated_by, OLD.create_time) THEN
        RAISE EXCEPTION 'a collection may only change its state'
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- An UPDATE takes only FOR NO KEY UPDATE, which lets contributions take
    -- their FOR KEY SHARE: wait here for those completing now, and keep out
    -- the later ones, before the balance is read.
    PERFORM 1 FROM collections WHERE collection_id = NEW.collection_id FOR UPDATE;
    RETURN NEW;
END $$;
CREATE TRIGGER collections_check BEFORE INSERT OR UPDATE ON collections
    FOR EACH ROW EXECUTE FUNCTION collections_check();

-- Closing pays the whole balance to the owner; cancelling pays each
-- completed contribution back to its payer. The triggers of 0001-0010 do the
-- bookkeeping of each transfer (postings, balances, folding the deferred
-- credits before the debit, the floor CHECK, a TRANSFER_COMPLETED event).
CREATE FUNCTION collections_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    balance_cents bigint;
    a accounts;
BEGIN
    IF TG_OP = 'INSERT' THEN
        RETURN NULL;
    END IF;
    SELECT * INTO a FROM accounts WHERE account_id = NEW.collection_id;
    IF NEW.state = 'CLOSED' THEN
        balance_cents := account_balance_cents(a);
        IF balance_cents > 0 THEN
            INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                                   currency_code, amount_cents, memo, initiated_by,
                                   resolve_time, collection_id)
            VALUES (gen_random_uuid(), 'COLLECTION_PAYOUT', 'COMPLETED', NEW.collection_id,
                    NEW.owner_account_id, a.currency_code, balance_cents,
                    'Collection #' || NEW.hashtag, NEW.resolved_by, now(), NEW.collection_id);
        END IF;
    ELSE
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by,
                               resolve_time, collection_id)
        SELECT gen_random_uuid(), 'COLLECTION_REFUND', 'COMPLETED', NEW.collection_id,
               t.from_account_id, t.currency_code, t.amount_cents,
               'Refund: collection #' || NEW.hashtag || ' was cancelled', NEW.resolved_by,
               now(), NEW.collection_id
          FROM transfers t
         WHERE t.collection_id = NEW.collection_id AND t.kind = 'PAYMENT'
           AND t.state = 'COMPLETED'
         ORDER BY t.from_account_id, t.seq;
    END IF;
    INSERT INTO outbox_events (event_type, collection_id)
    VALUES ('COLLECTION_' || NEW.state, NEW.collection_id);
    RETURN NULL;
END $$;
CREATE TRIGGER collections_apply AFTER UPDATE ON collections
    FOR EACH ROW EXECUTE FUNCTION collections_apply();
