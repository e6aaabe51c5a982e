-- The view the API reads transfers through: each transfer with its sides'
-- names and kinds, whether it is past its deadline, the payment a refund
-- gives back and whether it was requested. Defined here, once, since
-- migration 0024 (migrations 0011 to 0022 restated it); a new column goes at
-- the end (CREATE OR REPLACE VIEW only appends).
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
