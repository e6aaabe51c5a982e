-- Each core operation is one call of a SQL function (core/schema/functions/
-- ledger_call.sql and the transfer_* functions), which answers what the RPC
-- returns: a transfer as the API shows it, in JSON. The view below is that
-- transfer, read by the functions and by the server alike.

-- A transfer with how a history shows each side: the account's name, or the
-- handle of an identity whose money waits in escrow; the kinds of both
-- sides, which decide who may move or read its money; and whether its
-- deadline passed, by the database's clock.
CREATE VIEW transfers_named AS
SELECT t.transfer_id, t.seq, t.kind, t.state, t.from_account_id, t.to_account_id,
       t.currency_code, t.amount_cents, t.memo, t.initiated_by, t.create_time, t.expire_time,
       t.resolve_time, t.from_namespace, t.from_subject_id, t.from_handle, t.to_namespace,
       t.to_subject_id, t.to_handle, t.channel_reference, t.claim_expire_time, t.fee_cents,
       t.merchant_reference, t.collection_id,
       fa.display_name AS from_display_name, fa.kind AS from_kind, ta.kind AS to_kind,
       CASE WHEN ta.kind = 'SYSTEM' AND t.to_handle IS NOT NULL THEN '@' || t.to_handle
            ELSE ta.display_name END AS to_display_name,
       t.expire_time <= now() AS past_deadline
  FROM transfers t
  JOIN accounts fa ON fa.account_id = t.from_account_id
  JOIN accounts ta ON ta.account_id = t.to_account_id;
GRANT SELECT ON transfers_named TO envoi_server;

-- The answers of the SQL operations are kept as they answered them (JSON);
-- the other mutating RPCs keep theirs as protobuf bytes, as before.
ALTER TABLE idempotency_keys
    ADD COLUMN answer jsonb,
    DROP CONSTRAINT idempotency_keys_check,
    ADD CONSTRAINT idempotency_keys_one_answer
        CHECK (num_nonnulls(response_bytes, status_bytes, answer) = 1);

-- A request's digest is keyed (an HMAC under a key derived from the code key:
-- core/ledger/idempotency.py): a request can hold a 6-digit code, and a plain
-- SHA-256 of it gave the code away to whoever hashed the 10^6 possible ones.
-- Keys written before keep their plain digest until they are purged.
ALTER TABLE idempotency_keys
    ADD COLUMN request_hmac bytea,
    ALTER COLUMN request_sha256 DROP NOT NULL,
    ADD CONSTRAINT idempotency_keys_one_digest
        CHECK (num_nonnulls(request_sha256, request_hmac) = 1);
