-- A transfer as the API answers it (the transfers_named view), in JSON.
CREATE OR REPLACE FUNCTION transfer_json(p_transfer_id uuid) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT to_jsonb(t) FROM transfers_named t WHERE t.transfer_id = p_transfer_id);
END $$;
