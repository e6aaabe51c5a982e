-- Money in by bank card (top-ups) and money out to a bank account (payouts),
-- through payment providers. The rules, here next to the data:
--   * a top-up credits its account only when it SUCCEEDED, exactly once, and
--     by exactly its amount: the FUNDING transfer is made by the trigger below,
--     never by the caller;
--   * a pending payout holds its amount on the account (held_cents), so
--     balance - held >= floor still bounds what can be spent or withdrawn;
--     SETTLED releases the hold and moves the money to the PAYOUT system
--     account in one PAYOUT transfer; FAILED releases the hold only;
--   * every PAYOUT transfer belongs to a settled payout (deferred check);
--   * top-ups and payouts resolve once, and never change after that;
--   * each state that moves money writes its outbox event in the same transaction.
-- No card number is ever stored: only the provider's token and the last 4 digits.

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
    CHECK (kind IN ('PAYMENT', 'FUNDING', 'PAYOUT'));

CREATE TABLE card_top_ups (
    top_up_id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    provider text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- The provider's id of the charge: callbacks name the top-up by it.
    provider_reference text NOT NULL CHECK (length(provider_reference) BETWEEN 1 AND 128),
    -- The provider's token for the card, and what a person recognises it by.
    card_token text NOT NULL CHECK (length(card_token) BETWEEN 1 AND 256),
    card_last4 text NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
    state text NOT NULL CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    -- The provider's code for a failure, e.g. card_declined.
    failure_reason text CHECK (length(failure_reason) BETWEEN 1 AND 64),
    -- Where the person completes a 3-D Secure step, while PENDING.
    next_action_url text NOT NULL DEFAULT '' CHECK (length(next_action_url) <= 2048),
    -- The FUNDING transfer that credited the account; set by the trigger.
    transfer_id uuid UNIQUE REFERENCES transfers DEFERRABLE INITIALLY DEFERRED,
    initiated_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    resolve_time timestamptz,
    FOREIGN KEY (account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    UNIQUE (provider, provider_reference),
    CHECK ((state = 'SUCCEEDED') = (transfer_id IS NOT NULL)),
    CHECK ((state = 'FAILED') = (failure_reason IS NOT NULL)),
    CHECK ((state = 'PENDING') = (resolve_time IS NULL))
);
CREATE INDEX card_top_ups_account ON card_top_ups (account_id, seq);

CREATE TABLE payouts (
    payout_id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    provider text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- Set once the provider took the payout (submit_time): callbacks name it by this.
    provider_reference text CHECK (length(provider_reference) BETWEEN 1 AND 128),
    -- Electronic form: country, check digits, then the national account number.
    iban text NOT NULL CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    -- SEPA allows 70 characters for a name.
    beneficiary_name text NOT NULL CHECK (length(beneficiary_name) BETWEEN 1 AND 70),
    state text NOT NULL CHECK (state IN ('PENDING', 'SETTLED', 'FAILED')),
    failure_reason text CHECK (length(failure_reason) BETWEEN 1 AND 64),
    -- The PAYOUT transfer that moved the money out; set by the trigger.
    transfer_id uuid UNIQUE REFERENCES transfers DEFERRABLE INITIALLY DEFERRED,
    initiated_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    submit_time timestamptz,
    resolve_time timestamptz,
    FOREIGN KEY (account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    UNIQUE (provider, provider_reference),
    CHECK ((submit_time IS NULL) = (provider_reference IS NULL)),
    CHECK ((state = 'SETTLED') = (transfer_id IS NOT NULL)),
    CHECK ((state = 'FAILED') = (failure_reason IS NOT NULL)),
    CHECK ((state = 'PENDING') = (resolve_time IS NULL))
);
CREATE INDEX payouts_account ON payouts (account_id, seq);
-- What the background submitter still has to hand to a provider.
CREATE INDEX payouts_unsubmitted ON payouts (create_time)
    WHERE state = 'PENDING' AND submit_time IS NULL;

CREATE TRIGGER card_top_ups_no_delete BEFORE DELETE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER payouts_no_delete BEFORE DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

-- Events now describe a transfer, a top-up or a payout: exactly one of them.
ALTER TABLE outbox_events
    ALTER COLUMN transfer_id DROP NOT NULL,
    ADD COLUMN top_up_id uuid REFERENCES card_top_ups,
    ADD COLUMN payout_id uuid REFERENCES payouts,
    ADD CONSTRAINT outbox_events_one_subject
        CHECK (num_nonnulls(transfer_id, top_up_id, payout_id) = 1);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED',
    'TOP_UP_SUCCEEDED', 'TOP_UP_FAILED',
    'PAYOUT_REQUESTED', 'PAYOUT_SETTLED', 'PAYOUT_FAILED'));

-- Top-ups: PENDING -> SUCCEEDED | FAILED, or inserted already resolved.
-- Only the state, its failure reason and resolve time change, once.
CREATE FUNCTION card_top_ups_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.state <> 'PENDING' OR NEW.state NOT IN ('SUCCEEDED', 'FAILED') THEN
            RAISE EXCEPTION 'top-up % cannot go from % to %', OLD.top_up_id, OLD.state, NEW.state
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (NEW.top_up_id, NEW.seq, NEW.account_id, NEW.currency_code, NEW.amount_cents,
            NEW.provider, NEW.provider_reference, NEW.card_token, NEW.card_last4,
            NEW.initiated_by, NEW.create_time)
           IS DISTINCT FROM
           (OLD.top_up_id, OLD.seq, OLD.account_id, OLD.currency_code, OLD.amount_cents,
            OLD.provider, OLD.provider_reference, OLD.card_token, OLD.card_last4,
            OLD.initiated_by, OLD.create_time) THEN
            RAISE EXCEPTION 'a top-up may only change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    -- The credit is made here, so no caller can name another transfer.
    NEW.transfer_id := CASE WHEN NEW.state = 'SUCCEEDED' THEN gen_random_uuid() END;
    RETURN NEW;
END $$;
CREATE TRIGGER card_top_ups_check BEFORE INSERT OR UPDATE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION card_top_ups_check();

CREATE FUNCTION card_top_ups_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'PENDING' THEN
        RETURN NULL;  -- nothing moved yet: no event
    END IF;
    IF NEW.state = 'SUCCEEDED' THEN
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by, resolve_time)
        SELECT NEW.transfer_id, 'FUNDING', 'COMPLETED', funding.account_id, NEW.account_id,
               NEW.currency_code, NEW.amount_cents, 'Card top-up •••• ' || NEW.card_last4,
               NEW.initiated_by, now()
          FROM accounts funding
         WHERE funding.system_purpose = 'FUNDING' AND funding.currency_code = NEW.currency_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no funding account for %', NEW.currency_code
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO outbox_events (event_type, top_up_id)
    VALUES ('TOP_UP_' || NEW.state, NEW.top_up_id);
    RETURN NULL;
END $$;
CREATE TRIGGER card_top_ups_apply AFTER INSERT OR UPDATE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION card_top_ups_apply();

-- Payouts: inserted PENDING (holding the amount), then submitted to the
-- provider (provider_reference and submit_time, once), then SETTLED | FAILED.
CREATE FUNCTION payouts_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'PENDING' OR NEW.submit_time IS NOT NULL THEN
            RAISE EXCEPTION 'a payout starts pending and unsubmitted'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF OLD.state <> 'PENDING' THEN
            RAISE EXCEPTION 'payout % is already %', OLD.payout_id, OLD.state
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (NEW.payout_id, NEW.seq, NEW.account_id, NEW.currency_code, NEW.amount_cents,
            NEW.provider, NEW.iban, NEW.beneficiary_name, NEW.initiated_by, NEW.create_time)
           IS DISTINCT FROM
           (OLD.payout_id, OLD.seq, OLD.account_id, OLD.currency_code, OLD.amount_cents,
            OLD.provider, OLD.iban, OLD.beneficiary_name, OLD.initiated_by, OLD.create_time)
           OR (OLD.submit_time IS NOT NULL
               AND (NEW.submit_time, NEW.provider_reference)
                   IS DISTINCT FROM (OLD.submit_time, OLD.provider_reference)) THEN
            RAISE EXCEPTION 'a payout may only be submitted once and change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    NEW.transfer_id := CASE WHEN NEW.state = 'SETTLED' THEN gen_random_uuid() END;
    RETURN NEW;
END $$;
CREATE TRIGGER payouts_check BEFORE INSERT OR UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_check();

CREATE FUNCTION payouts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The hold: the floor CHECK on accounts refuses an overdraft.
        UPDATE accounts SET held_cents = held_cents + NEW.amount_cents
         WHERE account_id = NEW.account_id;
        INSERT INTO outbox_events (event_type, payout_id) VALUES ('PAYOUT_REQUESTED', NEW.payout_id);
        RETURN NULL;
    END IF;
    IF NEW.state = 'PENDING' THEN
        RETURN NULL;  -- submitted to the provider: no money moved
    END IF;
    -- Release the hold first, so the posting below never meets it.
    UPDATE accounts SET held_cents = held_cents - OLD.amount_cents
     WHERE account_id = OLD.account_id;
    IF NEW.state = 'SETTLED' THEN
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by, resolve_time)
        SELECT NEW.transfer_id, 'PAYOUT', 'COMPLETED', NEW.account_id, payout.account_id,
               NEW.currency_code, NEW.amount_cents,
               'Payout to ' || left(NEW.iban, 4) || ' •••• ' || right(NEW.iban, 4),
               NEW.initiated_by, now()
          FROM accounts payout
         WHERE payout.system_purpose = 'PAYOUT' AND payout.currency_code = NEW.currency_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no payout account for %', NEW.currency_code
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO outbox_events (event_type, payout_id) VALUES ('PAYOUT_' || NEW.state, NEW.payout_id);
    RETURN NULL;
END $$;
CREATE TRIGGER payouts_apply AFTER INSERT OR UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_apply();

-- Money leaves the ledger only through a settled payout.
CREATE FUNCTION payout_transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM payouts
                    WHERE transfer_id = NEW.transfer_id AND state = 'SETTLED') THEN
        RAISE EXCEPTION 'PAYOUT transfer % belongs to no settled payout', NEW.transfer_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER payout_transfers_settled AFTER INSERT ON transfers
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.kind = 'PAYOUT') EXECUTE FUNCTION payout_transfers_check();
