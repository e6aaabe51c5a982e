-- Why a transfer cannot be refunded by this call, or NULL: it must be a
-- completed payment (not a contribution to a collection, which its
-- cancellation refunds) to an account of the kind the caller refunds for,
-- the one the call names, in the call's currency.
CREATE OR REPLACE FUNCTION transfer_refundable_refusal(t transfers, p jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    id jsonb := jsonb_build_object('transfer_id', p->>'transfer_id');
BEGIN
    IF t.transfer_id IS NULL THEN
        RETURN refusal('TRANSFER_NOT_FOUND', format('no transfer %s', p->>'transfer_id'), id);
    END IF;
    IF t.kind <> 'PAYMENT' OR t.state <> 'COMPLETED' THEN
        RETURN refusal('TRANSFER_NOT_REFUNDABLE',
            format('only a completed payment is refunded; this is a %s %s',
                   lower(t.state), lower(t.kind)), id);
    END IF;
    IF t.collection_id IS NOT NULL THEN
        RETURN refusal('TRANSFER_NOT_REFUNDABLE',
            'a contribution to a collection is refunded by cancelling the collection', id);
    END IF;
    IF (SELECT kind FROM accounts WHERE account_id = t.to_account_id) <> p->>'refunder_kind' THEN
        RETURN refusal('TRANSFER_NOT_REFUNDABLE',
            format('only a payment to a %s is refunded with these credentials',
                   lower(p->>'refunder_kind')), id);
    END IF;
    IF t.to_account_id <> (p->>'from_account_id')::uuid THEN
        RAISE EXCEPTION 'transfer %''s recipient is not the refunder the server read', t.transfer_id;
    END IF;
    RETURN currency_refusal(t.currency_code, p->>'currency_code', 'the payment');
END $$;
