-- A payment to a merchant that its fee would take all of: the merchant must
-- receive at least a cent (the fee_below_amount CHECK on transfers too).
CREATE OR REPLACE FUNCTION fee_below_amount_refusal(r accounts, p_amount_cents bigint)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT refusal('AMOUNT_BELOW_FEE',
                   format('the merchant''s fee on this amount is %s cents: pay more than that',
                          fee.cents),
                   jsonb_build_object('fee_cents', fee.cents::text))
      FROM (SELECT merchant_fee_cents(p_amount_cents, r.fee_basis_points, r.fee_fixed_cents)
                   AS cents) fee
     WHERE r.kind = 'MERCHANT' AND fee.cents >= p_amount_cents
$$;
