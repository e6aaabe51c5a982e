CREATE OR REPLACE FUNCTION code_hold_transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IN ('COMPLETED', 'AWAITING_CLAIM') THEN
        PERFORM require_no_code_reset_hold(NEW.from_account_id);
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER code_hold_transfers_check BEFORE UPDATE OF state ON transfers
    FOR EACH ROW WHEN (OLD.state = 'PENDING_CONFIRMATION')
    EXECUTE FUNCTION code_hold_transfers_check();
