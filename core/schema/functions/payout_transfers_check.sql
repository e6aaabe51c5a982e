-- Money leaves the ledger only through a settled payout.
CREATE OR REPLACE FUNCTION payout_transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM payouts
                    WHERE transfer_id = NEW.transfer_id AND state = 'SETTLED') THEN
        RAISE EXCEPTION 'PAYOUT transfer % belongs to no settled payout', NEW.transfer_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- Dropped and created again: OR REPLACE does not take a constraint trigger.
DROP TRIGGER IF EXISTS payout_transfers_settled ON transfers;
CREATE CONSTRAINT TRIGGER payout_transfers_settled AFTER INSERT ON transfers
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.kind = 'PAYOUT') EXECUTE FUNCTION payout_transfers_check();
