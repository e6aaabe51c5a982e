-- How much of a payment its refunds gave back so far.
CREATE OR REPLACE FUNCTION payment_refunded_cents(p_transfer_id uuid) RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce((SELECT sum(amount_cents) FROM transfers WHERE refund_of = p_transfer_id), 0);
END $$;
