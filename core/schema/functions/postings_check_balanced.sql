-- The postings of a transfer sum to zero: checked per statement, set-based,
-- over the rows the statement inserted. Every path writes a transfer's legs
-- in one statement (post_transfer_legs, ledger_transfers_apply), so each
-- statement's legs of a transfer balance by themselves, and so do all of a
-- transfer's postings. It replaces a deferred check per posting row that
-- summed the transfer's postings again for each of its rows.
CREATE OR REPLACE FUNCTION postings_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    unbalanced uuid;
BEGIN
    SELECT transfer_id INTO unbalanced FROM inserted
     GROUP BY transfer_id HAVING sum(amount_cents) <> 0 LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings of transfer % do not sum to zero', unbalanced
            USING ERRCODE = 'check_violation', CONSTRAINT = 'postings_balanced';
    END IF;
    RETURN NULL;
END $$;
-- Dropped and created again: it was a deferred constraint trigger per row.
DROP TRIGGER IF EXISTS postings_balanced ON postings;
CREATE TRIGGER postings_balanced AFTER INSERT ON postings
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION postings_check_balanced();
