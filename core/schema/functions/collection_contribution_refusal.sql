-- Before a contribution completes: a shared lock on its collection (it stays
-- open until this transaction ends; closing takes FOR UPDATE first), taken
-- after the transfer's and before any account's. A collection closed,
-- cancelled or past its deadline since the initiation releases the hold
-- (CANCELLED) and answers COLLECTION_NOT_OPEN, to be recorded.
CREATE OR REPLACE FUNCTION collection_contribution_refusal(t transfers) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    SELECT state, (state = 'OPEN' AND (deadline_time IS NULL OR deadline_time > now())) AS open,
           (deadline_time IS NOT NULL AND deadline_time <= now()) AS deadline_passed
      INTO c FROM collections WHERE collection_id = t.collection_id FOR KEY SHARE;
    IF c.open THEN
        RETURN NULL;
    END IF;
    UPDATE transfers SET state = 'CANCELLED', resolve_time = now()
     WHERE transfer_id = t.transfer_id;
    RETURN collection_not_open_refusal(t.collection_id, c.state, c.deadline_passed);
END $$;
