-- The first answer to a request id (p: principal, request_id, method,
-- request_hmac in hex: core/ledger/idempotency.py), marked "replayed", or
-- NULL if the id is new; a key written before digests were keyed is compared
-- by its plain request_sha256.
-- IDEMPOTENCY_KEY_REUSED (as an answer) when the id came with another
-- request. Answers stored by an earlier version as bytes come back as
-- response_bytes / status_bytes (base64) for the server to decode.
CREATE OR REPLACE FUNCTION stored_answer(p jsonb) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    k idempotency_keys;
BEGIN
    SELECT * INTO k FROM idempotency_keys
     WHERE principal = p->>'principal' AND request_id = p->>'request_id';
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    IF k.method <> p->>'method'
       OR coalesce(k.request_hmac = decode(p->>'request_hmac', 'hex'),
                   k.request_sha256 = decode(p->>'request_sha256', 'hex')) IS NOT TRUE THEN
        RETURN jsonb_build_object('error', refusal('IDEMPOTENCY_KEY_REUSED',
            'this request_id was already used for a different request', '{}',
            '{"request_id": "already used for a different request"}'));
    END IF;
    IF k.answer IS NOT NULL THEN
        RETURN k.answer || '{"replayed": true}';
    END IF;
    RETURN jsonb_build_object('replayed', true,
                              'response_bytes', encode(k.response_bytes, 'base64'),
                              'status_bytes', encode(k.status_bytes, 'base64'));
END $$;
