-- A collection that takes no payments now: closed, cancelled, or open but
-- past its deadline.
CREATE OR REPLACE FUNCTION collection_not_open_refusal(
    p_collection_id uuid, p_state text, p_deadline_passed boolean
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    deadline_passed boolean := p_state = 'OPEN' AND p_deadline_passed;
BEGIN
    RETURN refusal('COLLECTION_NOT_OPEN',
        CASE WHEN deadline_passed THEN 'the collection''s deadline has passed'
             ELSE 'the collection is ' || lower(p_state) END,
        jsonb_build_object('collection_id', p_collection_id::text, 'state', p_state,
                           'deadline_passed', deadline_passed::text));
END $$;
