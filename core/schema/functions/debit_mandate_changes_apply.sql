CREATE OR REPLACE FUNCTION debit_mandate_changes_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE accounts
       SET debit_mandate_reason = CASE WHEN NEW.active THEN NEW.reason END,
           debit_mandate_time = CASE WHEN NEW.active THEN NEW.change_time END
     WHERE account_id = NEW.account_id;
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER debit_mandate_changes_apply AFTER INSERT ON debit_mandate_changes
    FOR EACH ROW EXECUTE FUNCTION debit_mandate_changes_apply();
