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

-- Its functions and triggers live in core/schema/functions/: merchant_fee_cents, transfers_set_fee, accounts_fee_revenue_credits_deferred, post_transfer_legs, transfers_apply.

ALTER TABLE transfers
    ADD COLUMN fee_cents bigint NOT NULL DEFAULT 0,
    ADD CONSTRAINT fee_below_amount CHECK (fee_cents >= 0 AND fee_cents < amount_cents),
    ADD CONSTRAINT fee_only_on_payments CHECK (fee_cents = 0 OR kind = 'PAYMENT');

-- Where fees go: one system account per currency, like FUNDING and PAYOUT,
-- taking its credits deferred (spelled out: the trigger that sets it is
-- defined only once the schema reaches the head, core/schema/functions/).
INSERT INTO accounts (account_id, kind, system_purpose, display_name, currency_code, floor_cents,
                      credits_deferred)
SELECT gen_random_uuid(), 'SYSTEM', 'FEE_REVENUE', 'envoi fee_revenue ' || currency_code,
       currency_code, 0, true
  FROM accounts WHERE system_purpose = 'FUNDING'
    ON CONFLICT (system_purpose, currency_code) DO NOTHING;
