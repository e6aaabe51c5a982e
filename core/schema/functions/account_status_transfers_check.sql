-- Frozen and closed accounts (account_status_refusal), at every step where a
-- transfer moves or holds money: created (a pending one holds the sender's
-- money, a completed one moves it), confirmed, claimed from escrow, returned
-- from escrow. The settlement of a payout requested before a freeze is not
-- stopped: the provider already sent that money (its request was checked).
CREATE OR REPLACE FUNCTION account_status_transfers_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR (OLD.state = 'PENDING_CONFIRMATION'
                            AND NEW.state IN ('COMPLETED', 'AWAITING_CLAIM')) THEN
        PERFORM refuse(account_status_refusal(NEW.from_account_id, NEW.kind <> 'PAYOUT'));
        PERFORM refuse(account_status_refusal(NEW.to_account_id, false));
    ELSIF OLD.state = 'AWAITING_CLAIM' THEN
        PERFORM refuse(account_status_refusal(
            CASE NEW.state WHEN 'COMPLETED' THEN NEW.to_account_id
                           ELSE NEW.from_account_id END, false));
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER account_status_transfers_check BEFORE INSERT ON transfers
    FOR EACH ROW EXECUTE FUNCTION account_status_transfers_check();
CREATE OR REPLACE TRIGGER account_status_transfers_check_update BEFORE UPDATE OF state ON transfers
    FOR EACH ROW WHEN (OLD.state IS DISTINCT FROM NEW.state)
    EXECUTE FUNCTION account_status_transfers_check();
