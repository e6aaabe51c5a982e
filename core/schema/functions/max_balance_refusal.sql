-- Money that would take an account over its maximum balance
-- (account_max_balance_cents).
CREATE OR REPLACE FUNCTION max_balance_refusal(s jsonb, a accounts, incoming_cents bigint)
    RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT refusal('LIMIT_EXCEEDED',
                   format('this would take the recipient over the maximum balance of its tier'
                          ' (%s cents)', max.cents),
                   jsonb_build_object('limit', 'MAX_BALANCE', 'limit_cents', max.cents::text,
                                      'tier', a.tier))
      FROM (SELECT account_max_balance_cents(s, a) AS cents) max
     WHERE a.balance_cents + incoming_cents > max.cents
$$;
