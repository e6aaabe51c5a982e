CREATE OR REPLACE FUNCTION payouts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        -- The hold: the floor CHECK on accounts refuses an overdraft.
        UPDATE accounts SET held_cents = held_cents + NEW.amount_cents
         WHERE account_id = NEW.account_id;
        INSERT INTO outbox_events (event_type, payout_id) VALUES ('PAYOUT_REQUESTED', NEW.payout_id);
        RETURN NULL;
    END IF;
    IF NEW.state = 'PENDING' THEN
        RETURN NULL;  -- submitted to the provider: no money moved
    END IF;
    -- Release the hold first, so the posting below never meets it.
    UPDATE accounts SET held_cents = held_cents - OLD.amount_cents
     WHERE account_id = OLD.account_id;
    IF NEW.state = 'SETTLED' THEN
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by, resolve_time)
        SELECT NEW.transfer_id, 'PAYOUT', 'COMPLETED', NEW.account_id, payout.account_id,
               NEW.currency_code, NEW.amount_cents,
               'Payout to ' || left(NEW.iban, 4) || ' •••• ' || right(NEW.iban, 4),
               NEW.initiated_by, now()
          FROM accounts payout
         WHERE payout.system_purpose = 'PAYOUT' AND payout.currency_code = NEW.currency_code;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'no payout account for %', NEW.currency_code
                USING ERRCODE = 'foreign_key_violation';
        END IF;
    END IF;
    INSERT INTO outbox_events (event_type, payout_id) VALUES ('PAYOUT_' || NEW.state, NEW.payout_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER payouts_apply AFTER INSERT OR UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_apply();
