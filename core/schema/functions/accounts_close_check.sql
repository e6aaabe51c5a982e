-- A close, by whatever SQL, only of an account that holds and waits for
-- nothing (account_close_refusal); and a closed account never opens again.
CREATE OR REPLACE FUNCTION accounts_close_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.close_time IS NOT NULL THEN
        RAISE EXCEPTION 'account % is closed for good', OLD.account_id
            USING ERRCODE = 'restrict_violation';
    END IF;
    PERFORM refuse(account_close_refusal(NEW));
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER accounts_close_check BEFORE UPDATE OF close_time ON accounts
    FOR EACH ROW WHEN (OLD.close_time IS DISTINCT FROM NEW.close_time)
    EXECUTE FUNCTION accounts_close_check();
