-- What channels may hold on one account (its row locked) while its owner has
-- not answered: whoever controls a social account can then freeze only this
-- much of its money. Pending payments expire after the confirmation
-- timeout, so only that window of the sender's history is read. Requests
-- others made of the account (held nothing) are not its own payments: they
-- never count, or anyone could block its payments by asking.
CREATE OR REPLACE FUNCTION channel_holds_refusal(s jsonb, p_account_id uuid, p_amount_cents bigint)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    max_count bigint := (s->>'channel_pending_max_count')::bigint;
    max_cents bigint := (s->>'channel_pending_max_cents')::bigint;
    pending_count bigint;
    held_cents bigint;
BEGIN
    SELECT count(*), coalesce(sum(amount_cents), 0) INTO pending_count, held_cents
      FROM transfers
     WHERE from_account_id = p_account_id AND state = 'PENDING_CONFIRMATION'
       AND initiated_by LIKE 'channel:%' AND NOT requested AND expire_time > now()
       AND create_time > now() - make_interval(secs => (s->>'confirmation_timeout_s')::int);
    IF pending_count < max_count AND held_cents + p_amount_cents <= max_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('LIMIT_EXCEEDED',
        format('payments started from posts already wait for this account''s code'
               ' (%s, %s cents): confirm or decline them in the wallet first',
               pending_count, held_cents),
        jsonb_build_object('limit', 'CHANNEL_PENDING', 'max_count', max_count::text,
                           'limit_cents', max_cents::text));
END $$;
