-- envoi's own reason is envoi's: a top-up failed for its maximum balance has
-- its refund by the end of the transaction that failed it.
CREATE OR REPLACE FUNCTION card_top_ups_refunded_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM top_up_refunds WHERE top_up_id = NEW.top_up_id) THEN
        RAISE EXCEPTION 'top-up % failed for its maximum balance without a refund', NEW.top_up_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
-- Dropped and created again: OR REPLACE does not take a constraint trigger.
DROP TRIGGER IF EXISTS card_top_ups_refunded ON card_top_ups;
CREATE CONSTRAINT TRIGGER card_top_ups_refunded AFTER INSERT OR UPDATE ON card_top_ups
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.state = 'FAILED' AND NEW.failure_reason = 'max_balance_exceeded')
    EXECUTE FUNCTION card_top_ups_refunded_check();
