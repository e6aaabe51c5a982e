CREATE OR REPLACE FUNCTION top_up_refunds_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    top_up card_top_ups;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO top_up FROM card_top_ups WHERE top_up_id = NEW.top_up_id;
        IF top_up.state IS DISTINCT FROM 'FAILED'
           OR top_up.failure_reason IS DISTINCT FROM 'max_balance_exceeded' THEN
            RAISE EXCEPTION 'top-up % was not failed for its maximum balance', NEW.top_up_id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.send_time IS NOT NULL THEN
            RAISE EXCEPTION 'a refund starts unsent' USING ERRCODE = 'check_violation';
        END IF;
        -- The whole charge goes back: the amount is the top-up's, whatever the caller wrote.
        NEW.currency_code := top_up.currency_code;
        NEW.amount_cents := top_up.amount_cents;
        RETURN NEW;
    END IF;
    IF OLD.send_time IS NOT NULL
       OR (NEW.top_up_id, NEW.refund_id, NEW.currency_code, NEW.amount_cents, NEW.create_time)
          IS DISTINCT FROM
          (OLD.top_up_id, OLD.refund_id, OLD.currency_code, OLD.amount_cents, OLD.create_time)
    THEN
        RAISE EXCEPTION 'a refund may only be sent, once' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER top_up_refunds_check BEFORE INSERT OR UPDATE ON top_up_refunds
    FOR EACH ROW EXECUTE FUNCTION top_up_refunds_check();
