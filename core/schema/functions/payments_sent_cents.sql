-- What an account sent in payments (pending, done, or in escrow) over the
-- last p_within. A request (a merchant's or a person's) counts once confirmed, from its
-- confirmation: it may have waited up to 7 days (its longest) before.
CREATE OR REPLACE FUNCTION payments_sent_cents(p_account_id uuid, p_within interval)
    RETURNS bigint LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT coalesce(sum(amount_cents), 0)::bigint FROM transfers
             WHERE from_account_id = p_account_id AND kind = 'PAYMENT'
               AND create_time > now() - p_within - interval '7 days'
               AND CASE WHEN NOT requested
                        THEN state IN ('PENDING_CONFIRMATION', 'COMPLETED', 'AWAITING_CLAIM')
                             AND create_time > now() - p_within
                        ELSE state = 'COMPLETED' AND resolve_time > now() - p_within END);
END $$;
