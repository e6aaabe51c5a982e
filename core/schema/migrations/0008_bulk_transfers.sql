-- Bulk transfers (TransferService.CreateTransfers) for internal services:
--   * a new token role, ledger, that may only post batches of transfers;
--   * a new transfer kind, LEDGER: posted at once as COMPLETED (no code, no
--     hold), with an id the caller chose. The triggers of 0001/0002 do the
--     bookkeeping as for any completed transfer: two postings, the balances,
--     the floor CHECK and one TRANSFER_COMPLETED outbox event each.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_role_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_role_check
    CHECK (role IN ('channel', 'wallet', 'merchant', 'admin', 'ledger'));

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
    CHECK (kind IN ('PAYMENT', 'FUNDING', 'PAYOUT', 'LEDGER'));

-- A LEDGER transfer is never pending: it is posted when it is written.
ALTER TABLE transfers ADD CONSTRAINT ledger_transfers_posted
    CHECK (kind <> 'LEDGER' OR state = 'COMPLETED');

-- Its functions and triggers live in core/schema/functions/: transfers_apply, forbid_change, ledger_transfers_apply, postings_apply.
