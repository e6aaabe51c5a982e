-- The cap on one payment by the kind of recipient: people (and escrow, which
-- stands for one) or organisations.
CREATE OR REPLACE FUNCTION per_transfer_cap_refusal(
    s jsonb, p_recipient_kind text, p_amount_cents bigint
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    cap_cents bigint := CASE WHEN p_recipient_kind = 'PERSON'
                             THEN (s->>'max_to_person_cents')::bigint
                             ELSE (s->>'max_to_organisation_cents')::bigint END;
BEGIN
    IF p_amount_cents <= cap_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('LIMIT_EXCEEDED',
        format('a payment to a %s is capped at %s cents', lower(p_recipient_kind), cap_cents),
        jsonb_build_object('limit', 'PER_TRANSFER', 'limit_cents', cap_cents::text));
END $$;
