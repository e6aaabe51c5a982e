-- The first answer to a request id (p: principal, request_id, method,
-- request_sha256 in hex), marked "replayed", or NULL if the id is new.
-- IDEMPOTENCY_KEY_REUSED (as an answer) when the id came with another
-- request. Answers stored by an earlier version as bytes come back as
-- response_bytes / status_bytes (base64) for the server to decode.
CREATE OR REPLACE FUNCTION stored_answer(p jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN k.method <> p->>'method' OR k.request_sha256 <> decode(p->>'request_sha256', 'hex')
        THEN jsonb_build_object('error', refusal('IDEMPOTENCY_KEY_REUSED',
                 'this request_id was already used for a different request', '{}',
                 '{"request_id": "already used for a different request"}'))
        WHEN k.answer IS NOT NULL THEN k.answer || '{"replayed": true}'
        ELSE jsonb_build_object('replayed', true,
                                'response_bytes', encode(k.response_bytes, 'base64'),
                                'status_bytes', encode(k.status_bytes, 'base64')) END
      FROM idempotency_keys k
     WHERE k.principal = p->>'principal' AND k.request_id = p->>'request_id'
$$;
