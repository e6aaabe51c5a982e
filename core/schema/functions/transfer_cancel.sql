-- CancelTransfer: release the hold of a pending transfer (CANCELLED). Answers
-- {"transfer": ...}, or {"error": ...} to be recorded when it had expired.
CREATE OR REPLACE FUNCTION transfer_cancel(p jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    locked record := transfer_locked((p->>'transfer_id')::uuid);
BEGIN
    IF locked.expired IS NOT NULL THEN
        RETURN jsonb_build_object('error', locked.expired);
    END IF;
    UPDATE transfers SET state = 'CANCELLED', resolve_time = now()
     WHERE transfer_id = (locked.t).transfer_id;
    RETURN jsonb_build_object('transfer', transfer_json((locked.t).transfer_id));
END $$;
