-- Payments and withdrawals over any 30 days, against the sender's tier limit
-- (0: none). The sender's row is locked, so concurrent requests see each other.
CREATE OR REPLACE FUNCTION monthly_outgoing_refusal(s jsonb, a accounts, p_amount_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    limit_cents bigint := CASE WHEN a.tier = 'VERIFIED'
                               THEN (s->>'verified_monthly_out_cents')::bigint
                               ELSE (s->>'unverified_monthly_out_cents')::bigint END;
    spent_cents bigint;
BEGIN
    IF limit_cents = 0 THEN
        RETURN NULL;
    END IF;
    spent_cents := payments_sent_cents(a.account_id, interval '30 days')
        + (SELECT coalesce(sum(amount_cents), 0) FROM payouts
            WHERE account_id = a.account_id AND state IN ('PENDING', 'SETTLED')
              AND create_time > now() - interval '30 days');
    IF spent_cents + p_amount_cents <= limit_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('LIMIT_EXCEEDED',
        format('this would take the sender over the monthly outgoing limit of its tier'
               ' (%s cents over 30 days)', limit_cents),
        jsonb_build_object('limit', 'MONTHLY_OUTGOING', 'limit_cents', limit_cents::text,
                           'remaining_cents', greatest(limit_cents - spent_cents, 0)::text,
                           'tier', a.tier));
END $$;
