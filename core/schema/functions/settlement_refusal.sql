-- A settlement account is moved only by CreateTransfers batches and
-- CreditAccount: no payment, payment request, collection or withdrawal.
CREATE OR REPLACE FUNCTION settlement_refusal(p_kind text, p_field text) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_kind <> 'SETTLEMENT' THEN
        RETURN NULL;
    END IF;
    RETURN refusal('PERMISSION_DENIED',
        p_field || ' is a settlement account: it moves money only in CreateTransfers batches');
END $$;
