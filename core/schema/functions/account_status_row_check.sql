-- Frozen and closed accounts (account_status_refusal) where a row commits an
-- account's money or identity: a withdrawal (no money out of a frozen or
-- closed account), an identity linked and a collection opened (not for a
-- closed account: it could never be paid). TG_ARGV: the row's account
-- column, and whether money leaves it.
CREATE OR REPLACE FUNCTION account_status_row_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refuse(account_status_refusal((to_jsonb(NEW)->>TG_ARGV[0])::uuid,
                                          TG_ARGV[1]::boolean));
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER account_status_payouts_check BEFORE INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION account_status_row_check('account_id', 'true');
CREATE OR REPLACE TRIGGER account_status_identities_check
    BEFORE INSERT OR UPDATE OF account_id ON identities
    FOR EACH ROW EXECUTE FUNCTION account_status_row_check('account_id', 'false');
CREATE OR REPLACE TRIGGER account_status_collections_check BEFORE INSERT ON collections
    FOR EACH ROW EXECUTE FUNCTION account_status_row_check('owner_account_id', 'false');
