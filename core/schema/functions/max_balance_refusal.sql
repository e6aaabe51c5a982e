-- Money that would take an account over its tier's maximum balance. An
-- account that collects (credits deferred: an association) has none, since
-- checking one would lock its row for every donation; nor has a settlement
-- account (envoi's own clearing money).
CREATE OR REPLACE FUNCTION max_balance_refusal(s jsonb, a accounts, incoming_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_cents bigint := tier_max_balance_cents(s, a.tier);
BEGIN
    IF a.credits_deferred OR a.kind = 'SETTLEMENT' OR max_cents = 0
       OR a.balance_cents + incoming_cents <= max_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('LIMIT_EXCEEDED',
        format('this would take the recipient over the maximum balance of its tier (%s cents)',
               max_cents),
        jsonb_build_object('limit', 'MAX_BALANCE', 'limit_cents', max_cents::text,
                           'tier', a.tier));
END $$;
