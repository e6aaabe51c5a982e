-- A transfer locked FOR UPDATE (locks go: the transfer, then its collection,
-- then accounts in id order), still pending. TRANSFER_NOT_FOUND or
-- TRANSFER_NOT_PENDING otherwise; a transfer past its deadline (not swept
-- yet) is expired here and answered TRANSFER_EXPIRED, to be recorded: its
-- row then comes back with state EXPIRED.
CREATE OR REPLACE FUNCTION transfer_locked(p_transfer_id uuid, OUT t transfers, OUT expired jsonb)
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT * INTO t FROM transfers WHERE transfer_id = p_transfer_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM refuse(refusal('TRANSFER_NOT_FOUND', format('no transfer %s', p_transfer_id),
                               jsonb_build_object('transfer_id', p_transfer_id::text)));
    END IF;
    IF t.state <> 'PENDING_CONFIRMATION' THEN
        PERFORM refuse(refusal('TRANSFER_NOT_PENDING', format('the transfer is already %s', t.state),
            jsonb_build_object('transfer_id', p_transfer_id::text, 'state', t.state)));
    END IF;
    IF t.expire_time <= now() THEN
        UPDATE transfers SET state = 'EXPIRED', resolve_time = now()
         WHERE transfer_id = p_transfer_id;
        expired := refusal('TRANSFER_EXPIRED',
            'the transfer was not confirmed in time; its hold is released',
            jsonb_build_object('transfer_id', p_transfer_id::text));
    END IF;
END $$;
