CREATE OR REPLACE FUNCTION code_hold_payouts_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM require_no_code_reset_hold(NEW.account_id);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER code_hold_payouts_check BEFORE INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION code_hold_payouts_check();
