CREATE OR REPLACE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% rows are never updated or deleted', TG_TABLE_NAME
        USING ERRCODE = 'restrict_violation';
END $$;
CREATE OR REPLACE TRIGGER card_top_ups_no_delete BEFORE DELETE ON card_top_ups
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER code_resets_immutable BEFORE UPDATE OR DELETE ON code_resets
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER collections_no_delete BEFORE DELETE ON collections
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER debit_mandate_changes_immutable BEFORE UPDATE OR DELETE ON debit_mandate_changes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
-- Completed when written: like any resolved transfer, it never changes.
CREATE OR REPLACE TRIGGER ledger_transfers_immutable BEFORE UPDATE ON transfers
    FOR EACH ROW WHEN (OLD.kind = 'LEDGER' OR NEW.kind = 'LEDGER')
    EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER payouts_no_delete BEFORE DELETE ON payouts
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER top_up_refunds_no_delete BEFORE DELETE ON top_up_refunds
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER transfers_no_delete BEFORE DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE OR REPLACE TRIGGER account_status_changes_immutable BEFORE UPDATE OR DELETE ON account_status_changes
    FOR EACH ROW EXECUTE FUNCTION forbid_change();
