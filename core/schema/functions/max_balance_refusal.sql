-- Money that would take an account over its maximum balance
-- (account_max_balance_cents).
CREATE OR REPLACE FUNCTION max_balance_refusal(s jsonb, a accounts, incoming_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_cents bigint := account_max_balance_cents(s, a);
BEGIN
    IF max_cents IS NULL OR a.balance_cents + incoming_cents <= max_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('LIMIT_EXCEEDED',
        format('this would take the recipient over the maximum balance of its tier (%s cents)',
               max_cents),
        jsonb_build_object('limit', 'MAX_BALANCE', 'limit_cents', max_cents::text,
                           'tier', a.tier));
END $$;
