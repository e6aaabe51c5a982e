-- Refunds (issue 17): a merchant or an association gives back part or all of a
-- completed payment it received, in one or several REFUND transfers, only to
-- the payer's account and never more in all than the payment. The payment's
-- fee goes back with it, pro rata: a refund takes from the refunder and from
-- FEE_REVENUE in the payment's proportions, so the refunder never gives back
-- more than it received. Its functions and triggers live in
-- core/schema/functions/: refunds_check, post_transfer_legs, transfer_refund.
ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check CHECK (kind IN (
    'PAYMENT', 'FUNDING', 'PAYOUT', 'LEDGER', 'COLLECTION_PAYOUT', 'COLLECTION_REFUND',
    'REFUND'));
ALTER TABLE transfers
    ADD COLUMN refund_of uuid REFERENCES transfers,
    ADD CONSTRAINT refunds_name_their_payment CHECK ((kind = 'REFUND') = (refund_of IS NOT NULL)),
    ADD CONSTRAINT refunds_complete_at_once CHECK (kind <> 'REFUND' OR state = 'COMPLETED'),
    -- A refund's fee is the part of the payment's fee that goes back with it:
    -- all of the refund, at most (a payment whose fee is nearly its amount).
    DROP CONSTRAINT fee_below_amount,
    ADD CONSTRAINT fee_below_amount CHECK (
        fee_cents >= 0 AND (fee_cents < amount_cents OR (kind = 'REFUND' AND fee_cents <= amount_cents))),
    DROP CONSTRAINT fee_only_on_payments,
    ADD CONSTRAINT fee_only_on_payments CHECK (fee_cents = 0 OR kind IN ('PAYMENT', 'REFUND'));
-- The refunds of one payment, summed at each new one.
CREATE INDEX transfers_refunds ON transfers (refund_of) INCLUDE (amount_cents, fee_cents)
    WHERE refund_of IS NOT NULL;

-- The view the API reads transfers through, with the payment a refund gives back.
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
       t.refund_of
  FROM transfers t
  JOIN accounts fa ON fa.account_id = t.from_account_id
  JOIN accounts ta ON ta.account_id = t.to_account_id;

-- What a merchant's API key may do beyond the merchant role: `refunds`, the one
-- way money leaves an account without its owner's code (docs/security.md).
ALTER TABLE api_tokens
    ADD COLUMN scopes text[] NOT NULL DEFAULT '{}',
    ADD CONSTRAINT api_tokens_scopes CHECK (
        scopes <@ ARRAY['refunds'] AND (role = 'merchant' OR scopes = '{}'));
