-- No collection is opened for a closed account (account_status_refusal): it
-- could never pay its owner out.
CREATE OR REPLACE FUNCTION account_status_collections_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse(account_status_refusal(NEW.owner_account_id, false));
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER account_status_collections_check BEFORE INSERT ON collections
    FOR EACH ROW EXECUTE FUNCTION account_status_collections_check();
