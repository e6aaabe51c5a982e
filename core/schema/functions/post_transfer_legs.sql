-- The legs of a transfer that moves money, in one statement: the sender, the
-- recipient net of the fee, and the fee account when there is a fee. A
-- REFUND's fee goes the other way: the payer gets the whole amount back, from
-- the refunder net of the fee and from the fee account. Out of escrow
-- (p_from is not the transfer's sender) no fee moves, except for a refund
-- going back to its refunder (p_to is its sender): the fee returns to the
-- fee account, as a payment's would.
CREATE OR REPLACE FUNCTION post_transfer_legs(t transfers, p_from uuid, p_to uuid) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    fee_account_id uuid;
    refund boolean := t.kind = 'REFUND' AND p_from = t.from_account_id;
BEGIN
    IF p_from <> t.from_account_id AND p_to <> t.from_account_id THEN
        t.fee_cents := 0;  -- escrow to a claimer: the whole amount
    END IF;
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
      FROM (VALUES (1, p_from, CASE WHEN refund THEN t.fee_cents - t.amount_cents
                                    ELSE -t.amount_cents END),
                   (2, p_to, CASE WHEN refund THEN t.amount_cents
                                  ELSE t.amount_cents - t.fee_cents END),
                   (3, fee_account_id, CASE WHEN refund THEN -t.fee_cents ELSE t.fee_cents END))
           AS leg(n, account_id, amount_cents)
     WHERE leg.amount_cents <> 0
     ORDER BY leg.n;
END $$;
