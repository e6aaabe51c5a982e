-- The part of a payment's fee that goes back with a refund of p_amount_cents,
-- after p_before_cents were refunded: pro rata, rounded down on the running
-- total, so that refunding all of the payment gives back all of its fee.
CREATE OR REPLACE FUNCTION refund_fee_cents(paid transfers, p_before_cents bigint,
                                            p_amount_cents bigint)
    RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    RETURN (p_before_cents + p_amount_cents) * paid.fee_cents / paid.amount_cents
           - p_before_cents * paid.fee_cents / paid.amount_cents;
END $$;
