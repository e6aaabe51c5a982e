-- Money requests (issue 17): a person asks another person to pay them
-- (PaymentRequestService.RequestMoney, or `#demander` in a post). Like a
-- merchant's payment request (0013), it is a PAYMENT from the payer to the one
-- who asks, PENDING_CONFIRMATION until the payer confirms it with their code,
-- and it holds nothing while it waits: nobody can lock another's money by
-- asking. What made a transfer "a request" was its merchant_reference; people
-- have none, so `requested` now says it, for both kinds of request:
--   * held_cents is the sum of the pending transfers that are not requested
--     (and of pending payouts);
--   * a requested transfer's caps and money are checked when it is confirmed.
ALTER TABLE transfers
    ADD COLUMN requested boolean NOT NULL DEFAULT false;
-- The merchants' requests made before: only the new column changes, which
-- the triggers (one state change per update) are not there to see.
ALTER TABLE transfers DISABLE TRIGGER USER;
UPDATE transfers SET requested = true WHERE merchant_reference IS NOT NULL;
ALTER TABLE transfers ENABLE TRIGGER USER;
ALTER TABLE transfers
    ADD CONSTRAINT merchant_requests_are_requested
        CHECK (merchant_reference IS NULL OR requested),
    ADD CONSTRAINT requests_are_payments CHECK (NOT requested OR kind = 'PAYMENT');
-- A person's pending requests to one payer, counted at each new one.
CREATE INDEX transfers_open_requests ON transfers (from_account_id, to_account_id)
    WHERE requested AND state = 'PENDING_CONFIRMATION';
-- transfers_named (core/schema/functions/transfers_named.sql) shows the column.
