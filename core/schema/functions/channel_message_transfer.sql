-- The transfer a channel already started for one of its messages (post or
-- DM), however long ago, as InitiateTransfer answered it: a message is taken
-- in at most once. The same message asking for something else is refused.
-- The predicate of the partial index transfers_channel_reference is written
-- out so that the planner uses it.
CREATE OR REPLACE FUNCTION channel_message_transfer(p jsonb) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    earlier jsonb;
BEGIN
    IF p->>'initiated_by' NOT LIKE 'channel:%' OR p->>'channel_reference' = '' THEN
        RETURN NULL;
    END IF;
    SELECT to_jsonb(t) INTO earlier FROM transfers_named t
     WHERE t.initiated_by = p->>'initiated_by' AND t.channel_reference = p->>'channel_reference'
       AND t.initiated_by LIKE 'channel:%' AND t.channel_reference <> '';
    IF earlier IS NULL THEN
        RETURN NULL;
    END IF;
    IF (earlier->>'from_subject_id', earlier->>'amount_cents', earlier->>'currency_code')
       IS DISTINCT FROM
       (p->'from_identity'->>'subject_id', p->>'amount_cents', p->>'currency_code') THEN
        PERFORM refuse(refusal('IDEMPOTENCY_KEY_REUSED',
            'this channel_reference was already taken in for a different payment', '{}',
            '{"channel_reference": "already used for a different payment"}'));
    END IF;
    RETURN jsonb_build_object('transfer', earlier, 'replayed', true);
END $$;
