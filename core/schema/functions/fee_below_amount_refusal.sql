-- A payment to a merchant that its fee would take all of: the merchant must
-- receive at least a cent (the fee_below_amount CHECK on transfers too).
CREATE OR REPLACE FUNCTION fee_below_amount_refusal(r accounts, p_amount_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    fee_cents bigint;
BEGIN
    IF r.kind <> 'MERCHANT' THEN
        RETURN NULL;
    END IF;
    fee_cents := merchant_fee_cents(p_amount_cents, r.fee_basis_points, r.fee_fixed_cents);
    IF fee_cents < p_amount_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('AMOUNT_BELOW_FEE',
        format('the merchant''s fee on this amount is %s cents: pay more than that', fee_cents),
        jsonb_build_object('fee_cents', fee_cents::text));
END $$;
