CREATE OR REPLACE FUNCTION require_no_code_reset_hold(held_account_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE account_id = held_account_id
                AND code_hold_end_time > now()) THEN
        RAISE EXCEPTION 'account % is in its code reset hold', held_account_id
            USING ERRCODE = 'check_violation', CONSTRAINT = 'code_reset_hold';
    END IF;
END $$;
