-- One attempt at an account's code (its row locked). The server computes
-- p_code_hmac, the HMAC of the code typed under its key (which never reaches
-- the database), for this account; the comparison of two HMACs leaks nothing
-- an attacker could steer. A locked code refuses (CODE_LOCKED); a wrong one
-- is counted and answered (INVALID_CODE), to be recorded with the count; a
-- right one clears the count and answers NULL.
CREATE OR REPLACE FUNCTION code_attempt(s jsonb, a accounts, p_code_hmac bytea)
    RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    max_attempts int := (s->>'code_max_attempts')::int;
    attempts int;
BEGIN
    IF a.failed_code_attempts >= max_attempts THEN
        PERFORM refuse(refusal('CODE_LOCKED',
            'too many wrong codes: the code is locked until an admin sets a new one (ResetCode)'));
    END IF;
    IF a.code_hmac IS DISTINCT FROM p_code_hmac THEN
        UPDATE accounts SET failed_code_attempts = failed_code_attempts + 1
         WHERE account_id = a.account_id RETURNING failed_code_attempts INTO attempts;
        RETURN refusal('INVALID_CODE',
            format('wrong code; %s attempt(s) left before confirmations lock',
                   greatest(max_attempts - attempts, 0)),
            jsonb_build_object('attempts_left', greatest(max_attempts - attempts, 0)::text));
    END IF;
    IF a.failed_code_attempts > 0 THEN
        UPDATE accounts SET failed_code_attempts = 0 WHERE account_id = a.account_id;
    END IF;
    RETURN NULL;
END $$;
