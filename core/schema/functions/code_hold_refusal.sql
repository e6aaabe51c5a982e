-- After an admin reset its code, no money leaves an account by a path that
-- needs the code until the hold ends (code_resets.py says why).
CREATE OR REPLACE FUNCTION code_hold_refusal(a accounts) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF a.code_hold_end_time IS NULL OR a.code_hold_end_time <= now() THEN
        RETURN NULL;
    END IF;
    RETURN refusal('CODE_RESET_HOLD',
        'an admin reset this account''s code lately: no money leaves it until '
            || iso_utc(a.code_hold_end_time),
        jsonb_build_object('account_id', a.account_id::text,
                           'hold_end_time', iso_utc(a.code_hold_end_time)));
END $$;
