-- Merchant webhooks (issue 17, docs/merchants.md "Webhooks", docs/security.md):
-- a merchant's HTTPS endpoints, the secrets that sign what is sent to them, one
-- delivery per (outbox event, matching endpoint) and a log of every attempt.
-- The `envoi webhooks` worker connects as a member of envoi_webhooks.
CREATE TABLE webhook_endpoints (
    endpoint_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    account_id uuid NOT NULL REFERENCES accounts,
    url text NOT NULL CHECK (length(url) <= 2048),
    event_types text[] NOT NULL CHECK (cardinality(event_types) BETWEEN 1 AND 64),
    create_time timestamptz NOT NULL DEFAULT now(),
    -- Set by the worker when a delivery failed for too long (the owner is told).
    disable_time timestamptz,
    delete_time timestamptz
);
CREATE INDEX webhook_endpoints_account ON webhook_endpoints (account_id)
    WHERE delete_time IS NULL;

-- HMAC keys, kept as they are: they must sign. The server only INSERTs them
-- (it answers the secret once, then cannot read it back); only the worker's
-- role reads them. The newest signs; the one before it also signs for a day
-- after a rotation, so receivers can switch without losing a delivery.
CREATE TABLE webhook_secrets (
    secret_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints,
    secret text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_secrets_endpoint ON webhook_secrets (endpoint_id, secret_id);

-- One event for one endpoint. delivery_id orders an endpoint's queue: the
-- oldest PENDING one is its head and blocks the others until it succeeds or
-- the endpoint is disabled. body is the JSON sent (the event as it was when
-- the worker read it), so a retry or a redelivery sends the same bytes.
CREATE TABLE webhook_deliveries (
    delivery_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id uuid NOT NULL REFERENCES webhook_endpoints,
    event_id bigint NOT NULL REFERENCES outbox_events,
    event_type text NOT NULL,
    body text NOT NULL,
    state text NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    create_time timestamptz NOT NULL DEFAULT now(),
    attempt_count integer NOT NULL DEFAULT 0,
    first_attempt_time timestamptz,
    next_attempt_time timestamptz NOT NULL DEFAULT now(),
    -- A worker holds it until then: a crashed worker's lease runs out and the
    -- delivery is sent again (at least once).
    lease_expire_time timestamptz,
    finish_time timestamptz,
    -- The delivery it sends again (Redeliver), if any.
    redelivery_of bigint REFERENCES webhook_deliveries
);
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (endpoint_id, delivery_id)
    WHERE state = 'PENDING';
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (endpoint_id, delivery_id DESC);

-- Each attempt: when, the answer's status code (none if no answer), how long
-- it took, and why it failed. No secret, no header, at most a short excerpt.
CREATE TABLE webhook_attempts (
    attempt_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id bigint NOT NULL REFERENCES webhook_deliveries,
    attempt_time timestamptz NOT NULL,
    status_code integer,
    latency_ms integer NOT NULL CHECK (latency_ms >= 0),
    error_class text,
    response_excerpt text NOT NULL DEFAULT '' CHECK (length(response_excerpt) <= 256)
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt_id);

-- Where the worker is in the outbox: every event up to here has its deliveries.
CREATE TABLE webhook_cursor (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    tx_id xid8 NOT NULL,
    event_id bigint NOT NULL
);
-- Deliveries start with the events written from now on.
INSERT INTO webhook_cursor (tx_id, event_id)
SELECT coalesce(max(tx_id), '0'::xid8), coalesce(max(event_id), 0) FROM outbox_events;

-- The owner is told when an endpoint is disabled.
ALTER TABLE outbox_events ADD COLUMN webhook_endpoint_id uuid REFERENCES webhook_endpoints;
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_one_subject;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_one_subject CHECK (
    num_nonnulls(transfer_id, top_up_id, payout_id, collection_id, code_reset_id,
                 webhook_endpoint_id) = 1);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED',
    'TOP_UP_SUCCEEDED', 'TOP_UP_FAILED',
    'PAYOUT_REQUESTED', 'PAYOUT_SETTLED', 'PAYOUT_FAILED',
    'COLLECTION_CLOSED', 'COLLECTION_CANCELLED',
    'CODE_RESET',
    'WEBHOOK_ENDPOINT_DISABLED'));
CREATE INDEX outbox_events_webhook_endpoint ON outbox_events (webhook_endpoint_id)
    WHERE webhook_endpoint_id IS NOT NULL;

-- The worker's role: it reads the events and what they are about, never
-- writes the ledger; it alone reads the secrets.
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'envoi_webhooks') THEN
        BEGIN
            CREATE ROLE envoi_webhooks NOLOGIN;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- created concurrently by another migration
        END;
    END IF;
END $$;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM envoi_webhooks;
GRANT SELECT ON schema_migrations, outbox_events, transfers, accounts, card_top_ups,
    top_up_refunds, payouts, collections, code_resets, webhook_endpoints
    TO envoi_webhooks;
GRANT INSERT ON outbox_events TO envoi_webhooks;
GRANT UPDATE (disable_time) ON webhook_endpoints TO envoi_webhooks;
GRANT SELECT, DELETE ON webhook_secrets TO envoi_webhooks;
GRANT SELECT, INSERT, UPDATE ON webhook_deliveries, webhook_cursor TO envoi_webhooks;
GRANT SELECT, INSERT ON webhook_attempts TO envoi_webhooks;

-- The server manages endpoints, writes secrets it cannot read back, reads the
-- log and queues redeliveries.
GRANT SELECT, INSERT, UPDATE ON webhook_endpoints TO envoi_server;
GRANT INSERT ON webhook_secrets TO envoi_server;
GRANT SELECT, INSERT ON webhook_deliveries TO envoi_server;
GRANT SELECT ON webhook_attempts TO envoi_server;
