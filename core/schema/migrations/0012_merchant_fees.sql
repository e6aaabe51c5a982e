-- Business profiles and merchant fees. The rules, here next to the data:
--   * merchants and associations carry a business profile (legal name, French
--     SIREN or SIRET with its check digit); an admin verifies it
--     (profile_verify_time); people never have one;
--   * every merchant has a fee: basis points of the amount (150 = 1.5 %),
--     rounded half up to the cent, plus a fixed part;
--   * a payment's fee is computed here when the payment is written, from its
--     recipient's rate at that moment, and never changes after that; only a
--     PAYMENT to a MERCHANT bears one, and it is always less than the amount;
--   * a completed payment with a fee posts three legs in one statement: the
--     payer -amount, the merchant +(amount - fee), the FEE_REVENUE system
--     account of the currency +fee. They sum to zero like any transfer.

-- Business profile. Only France's numbers can be checked, so only FR is taken.
CREATE FUNCTION fr_registration_number_valid(number text) RETURNS boolean
    LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT number ~ '^([0-9]{9}|[0-9]{14})$' AND (
        -- Luhn: from the right, every second digit doubled (its digits summed).
        (SELECT sum(CASE WHEN i % 2 = 0 THEN (2 * d) / 10 + (2 * d) % 10 ELSE d END) % 10 = 0
           FROM (SELECT i, substr(reverse(number), i, 1)::int AS d
                   FROM generate_series(1, length(number)) i) digits)
        -- La Poste's establishments (SIREN 356000000) number their SIRETs
        -- with a digit sum divisible by 5 instead.
        OR (length(number) = 14 AND left(number, 9) = '356000000'
            AND (SELECT sum(substr(number, i, 1)::int) % 5 = 0
                   FROM generate_series(1, 14) i)))
$$;

ALTER TABLE accounts
    ADD COLUMN legal_name text CHECK (length(legal_name) BETWEEN 1 AND 200),
    ADD COLUMN registration_country_code text,
    ADD COLUMN registration_number text,
    -- Set by an admin once the papers were checked; payments need it.
    ADD COLUMN profile_verify_time timestamptz,
    ADD COLUMN fee_basis_points integer CHECK (fee_basis_points BETWEEN 0 AND 10000),
    ADD COLUMN fee_fixed_cents bigint CHECK (fee_fixed_cents BETWEEN 0 AND 100000);
UPDATE accounts SET fee_basis_points = 0, fee_fixed_cents = 0 WHERE kind = 'MERCHANT';
ALTER TABLE accounts
    ADD CONSTRAINT business_profile_whole
        CHECK (num_nulls(legal_name, registration_country_code, registration_number) IN (0, 3)),
    ADD CONSTRAINT business_profile_of_organisations
        CHECK (legal_name IS NULL OR kind IN ('MERCHANT', 'ASSOCIATION')),
    ADD CONSTRAINT business_profile_registration_valid
        CHECK (registration_number IS NULL
               OR (registration_country_code = 'FR'
                   AND fr_registration_number_valid(registration_number))),
    ADD CONSTRAINT business_profile_verified_needs_profile
        CHECK (profile_verify_time IS NULL OR legal_name IS NOT NULL),
    ADD CONSTRAINT merchant_fees_of_merchants
        CHECK ((kind = 'MERCHANT') = (fee_basis_points IS NOT NULL)
               AND (fee_basis_points IS NULL) = (fee_fixed_cents IS NULL));

-- The fee of a payment of amount_cents at a rate; integers only, half up.
CREATE FUNCTION merchant_fee_cents(amount_cents bigint, basis_points integer, fixed_cents bigint)
    RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT fixed_cents + div(amount_cents::numeric * basis_points + 5000, 10000)::bigint
$$;

ALTER TABLE transfers
    ADD COLUMN fee_cents bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT fee_below_amount CHECK (fee_cents >= 0 AND fee_cents < amount_cents),
    ADD CONSTRAINT fee_only_on_payments CHECK (fee_cents = 0 OR kind = 'PAYMENT');

-- The fee is decided here, so no caller can name another one.
CREATE FUNCTION transfers_set_fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.fee_cents := coalesce(
        (SELECT merchant_fee_cents(NEW.amount_cents, a.fee_basis_points, a.fee_fixed_cents)
           FROM accounts a WHERE a.account_id = NEW.to_account_id AND a.kind = 'MERCHANT'),
        0);
    RETURN NEW;
END $$;
CREATE TRIGGER transfers_set_fee BEFORE INSERT ON transfers
    FOR EACH ROW WHEN (NEW.kind = 'PAYMENT') EXECUTE FUNCTION transfers_set_fee();

-- Where fees go: one system account per currency, like FUNDING and PAYOUT.
-- Every merchant payment credits it, so it takes its credits deferred (as
-- associations do, migration 0010) instead of queueing them on its row lock.
-- This trigger runs after accounts_credits_deferred_by_kind (triggers of one
-- event fire in name order), so it adds to that rule without restating it.
CREATE FUNCTION accounts_fee_revenue_credits_deferred() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.credits_deferred := true;
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_fee_revenue_credits_deferred BEFORE INSERT ON accounts
    FOR EACH ROW WHEN (NEW.system_purpose = 'FEE_REVENUE')
    EXECUTE FUNCTION accounts_fee_revenue_credits_deferred();
INSERT INTO accounts (account_id, kind, system_purpose, display_name, currency_code, floor_cents)
SELECT gen_random_uuid(), 'SYSTEM', 'FEE_REVENUE', 'envoi fee_revenue ' || currency_code,
       currency_code, 0
  FROM accounts WHERE system_purpose = 'FUNDING'
    ON CONFLICT (system_purpose, currency_code) DO NOTHING;

-- The legs of a transfer that moves money, in one statement: the sender, the
-- recipient net of the fee, and the fee account when there is a fee.
CREATE FUNCTION post_transfer_legs(t transfers, p_from uuid, p_to uuid) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    fee_account_id uuid;
BEGIN
    IF t.fee_cents > 0 THEN
        SELECT account_id INTO fee_account_id FROM accounts
         WHERE system_purpose = 'FEE_REVENUE' AND currency_code = t.currency_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no fee revenue account for %', t.currency_code
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO postings (transfer_id, account_id, currency_code, amount_cents)
    SELECT t.transfer_id, leg.account_id, t.currency_code, leg.amount_cents
      FROM (VALUES (1, p_from, -t.amount_cents),
                   (2, p_to, t.amount_cents - t.fee_cents),
                   (3, fee_account_id, t.fee_cents)) AS leg(n, account_id, amount_cents)
     WHERE leg.amount_cents <> 0
     ORDER BY leg.n;
END $$;

-- transfers_apply of migration 0002, with the fee: the legs come from
-- post_transfer_legs, and fee_cents is one of the columns that never change.
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
            PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            event := 'TRANSFER_COMPLETED';
        ELSE
            RAISE EXCEPTION 'a transfer starts pending or completed'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF (NEW.transfer_id, NEW.seq, NEW.kind, NEW.from_account_id, NEW.currency_code,
            NEW.amount_cents, NEW.fee_cents, NEW.memo, NEW.initiated_by, NEW.create_time,
            NEW.expire_time, NEW.from_namespace, NEW.from_subject_id, NEW.from_handle,
            NEW.to_namespace, NEW.to_subject_id, NEW.to_handle, NEW.channel_reference)
           IS DISTINCT FROM
           (OLD.transfer_id, OLD.seq, OLD.kind, OLD.from_account_id, OLD.currency_code,
            OLD.amount_cents, OLD.fee_cents, OLD.memo, OLD.initiated_by, OLD.create_time,
            OLD.expire_time, OLD.from_namespace, OLD.from_subject_id, OLD.from_handle,
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
                PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            END IF;
            event := CASE NEW.state
                         WHEN 'COMPLETED' THEN 'TRANSFER_COMPLETED'
                         WHEN 'AWAITING_CLAIM' THEN 'TRANSFER_AWAITING_CLAIM'
                         WHEN 'CANCELLED' THEN 'TRANSFER_CANCELLED'
                         ELSE 'TRANSFER_EXPIRED' END;
        ELSIF OLD.state = 'AWAITING_CLAIM' AND NEW.state IN ('COMPLETED', 'REFUNDED') THEN
            -- Out of escrow (the old recipient) to the claimer or back to the
            -- sender. Money paid into escrow bore no fee (escrow is no merchant).
            PERFORM post_transfer_legs(
                NEW, OLD.to_account_id,
                CASE NEW.state WHEN 'COMPLETED' THEN NEW.to_account_id
                               ELSE NEW.from_account_id END);
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
