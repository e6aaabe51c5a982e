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

-- The view the API reads transfers through, with whether it was requested.
CREATE OR REPLACE VIEW transfers_named AS
SELECT t.transfer_id, t.seq, t.kind, t.state, t.from_account_id, t.to_account_id,
       t.currency_code, t.amount_cents, t.memo, t.initiated_by, t.create_time, t.expire_time,
       t.resolve_time, t.from_namespace, t.from_subject_id, t.from_handle, t.to_namespace,
       t.to_subject_id, t.to_handle, t.channel_reference, t.claim_expire_time, t.fee_cents,
       t.merchant_reference, t.collection_id,
       fa.display_name AS from_display_name, fa.kind AS from_kind, ta.kind AS to_kind,
       CASE WHEN ta.kind = 'SYSTEM' AND t.to_handle IS NOT NULL THEN '@' || t.to_handle
            ELSE ta.display_name END AS to_display_name,
       t.expire_time <= now() AS past_deadline,
       t.refund_of,
       t.requested
  FROM transfers t
  JOIN accounts fa ON fa.account_id = t.from_account_id
  JOIN accounts ta ON ta.account_id = t.to_account_id;
