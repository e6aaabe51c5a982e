-- Refunding p_amount_cents more of a payment: never more than is left of it
-- (REFUND_EXCEEDS_PAYMENT), and the refunder must have its share (the amount
-- less the fee that goes back with it) available. refunds_check and the
-- floor CHECK stay the last word.
CREATE OR REPLACE FUNCTION refund_amount_refusal(paid transfers, refunder accounts,
                                                 p_amount_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    before_cents bigint := payment_refunded_cents(paid.transfer_id);
BEGIN
    IF before_cents + p_amount_cents > paid.amount_cents THEN
        RETURN refusal('REFUND_EXCEEDS_PAYMENT',
            format('%s cents of this payment are left to refund',
                   paid.amount_cents - before_cents),
            jsonb_build_object('transfer_id', paid.transfer_id::text,
                               'refundable_cents', (paid.amount_cents - before_cents)::text));
    END IF;
    RETURN available_refusal(
        refunder, p_amount_cents - refund_fee_cents(paid, before_cents, p_amount_cents),
        'the refunder''s');
END $$;
