-- Top-ups: PENDING -> SUCCEEDED | FAILED, or inserted already resolved.
-- Only the state, its failure reason and resolve time change, once.
CREATE OR REPLACE FUNCTION card_top_ups_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.state <> 'PENDING' OR NEW.state NOT IN ('SUCCEEDED', 'FAILED') THEN
            RAISE EXCEPTION 'top-up % cannot go from % to %', OLD.top_up_id, OLD.state, NEW.state
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (NEW.top_up_id, NEW.seq, NEW.account_id, NEW.currency_code, NEW.amount_cents,
            NEW.provider, NEW.provider_reference, NEW.card_token, NEW.card_last4,
            NEW.initiated_by, NEW.create_time)
           IS DISTINCT FROM
           (OLD.top_up_id, OLD.seq, OLD.account_id, OLD.currency_code, OLD.amount_cents,
            OLD.provider, OLD.provider_reference, OLD.card_token, OLD.card_last4,
            OLD.initiated_by, OLD.create_time) THEN
            RAISE EXCEPTION 'a top-up may only change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    -- The credit is made here, so no caller can name another transfer.
    NEW.transfer_id := CASE WHEN NEW.state = 'SUCCEEDED' THEN gen_random_uuid() END;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER card_top_ups_check BEFORE INSERT OR UPDATE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION card_top_ups_check();
