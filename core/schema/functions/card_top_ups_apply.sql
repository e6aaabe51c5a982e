CREATE OR REPLACE FUNCTION card_top_ups_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state = 'PENDING' THEN
        RETURN NULL;  -- nothing moved yet: no event
    END IF;
    IF NEW.state = 'SUCCEEDED' THEN
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by, resolve_time)
        SELECT NEW.transfer_id, 'FUNDING', 'COMPLETED', funding.account_id, NEW.account_id,
               NEW.currency_code, NEW.amount_cents, 'Card top-up •••• ' || NEW.card_last4,
               NEW.initiated_by, now()
          FROM accounts funding
         WHERE funding.system_purpose = 'FUNDING' AND funding.currency_code = NEW.currency_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no funding account for %', NEW.currency_code
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO outbox_events (event_type, top_up_id)
    VALUES ('TOP_UP_' || NEW.state, NEW.top_up_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER card_top_ups_apply AFTER INSERT OR UPDATE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION card_top_ups_apply();
