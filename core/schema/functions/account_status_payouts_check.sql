-- No withdrawal from a frozen or closed account (account_status_refusal).
CREATE OR REPLACE FUNCTION account_status_payouts_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse(account_status_refusal(NEW.account_id, true));
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER account_status_payouts_check BEFORE INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION account_status_payouts_check();
