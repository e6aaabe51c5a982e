-- A cancelled collection pays each contribution back with a REFUND naming it
-- (refund_of), the mechanism merchants' and associations' refunds use, so the
-- payer's history links the two and refunds_check is the last word for both.
-- COLLECTION_REFUND stays for the transfers written before this migration.
ALTER TABLE transfers
    DROP CONSTRAINT collection_transfers_sides,
    ADD CONSTRAINT collection_transfers_sides CHECK (
        collection_id IS NULL
        OR (kind = 'PAYMENT' AND collection_id = to_account_id)
        OR (kind IN ('COLLECTION_PAYOUT', 'COLLECTION_REFUND', 'REFUND')
            AND collection_id = from_account_id AND state = 'COMPLETED'));
-- Its payout and refunds.
DROP INDEX transfers_collection_out;
CREATE INDEX transfers_collection_out ON transfers (collection_id, kind)
    WHERE kind IN ('COLLECTION_PAYOUT', 'COLLECTION_REFUND', 'REFUND') AND collection_id IS NOT NULL;
