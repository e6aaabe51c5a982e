-- A batch of ledger calls (group commit: core/ledger/group_commit.py), one
-- transaction for all, each call keeping its own answer, refusal and request
-- id. Answers the array of answers, in the order of the calls. The batch's
-- row locks are taken first, in one order (ledger_calls_lock).
CREATE OR REPLACE FUNCTION ledger_calls(calls jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    answers jsonb := '[]';
    call jsonb;
BEGIN
    IF jsonb_array_length(calls) > 1 THEN  -- one call takes its locks in order itself
        PERFORM ledger_calls_lock(calls);
    END IF;
    FOR call IN SELECT jsonb_array_elements(calls) LOOP
        answers := answers || jsonb_build_array(ledger_call(call, s));
    END LOOP;
    RETURN answers;
END $$;
