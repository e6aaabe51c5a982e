-- A reset sets the account's hold and writes its event.
CREATE OR REPLACE FUNCTION code_resets_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts SET code_hold_end_time = NEW.hold_end_time
     WHERE account_id = NEW.account_id;
    INSERT INTO outbox_events (event_type, code_reset_id) VALUES ('CODE_RESET', NEW.code_reset_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER code_resets_apply AFTER INSERT ON code_resets
    FOR EACH ROW EXECUTE FUNCTION code_resets_apply();
