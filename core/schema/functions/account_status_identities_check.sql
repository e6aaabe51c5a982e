-- No identity is linked to a closed account (account_status_refusal): its
-- identities were unlinked when it closed, to be linked elsewhere.
CREATE OR REPLACE FUNCTION account_status_identities_check() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse(account_status_refusal(NEW.account_id, false));
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER account_status_identities_check BEFORE INSERT OR UPDATE OF account_id
    ON identities FOR EACH ROW EXECUTE FUNCTION account_status_identities_check();
