-- Stop the operation with a refusal (when there is one): SQLSTATE EV000, the
-- refusal in DETAIL. ledger_call catches it, rolls the operation back and
-- answers the refusal; Python maps an uncaught one (core/ledger/refusals.py).
CREATE OR REPLACE FUNCTION refuse(r jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF r IS NOT NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'EV000', MESSAGE = r->>'message', DETAIL = r::text;
    END IF;
END $$;
