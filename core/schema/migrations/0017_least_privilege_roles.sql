-- Least privilege (docs/operations.md): `envoi serve` connects as a member of
-- envoi_server, the channel gateway as a member of envoi_gateway; neither owns a
-- table, so neither can ALTER, DROP or TRUNCATE one nor disable its triggers.
-- The owner (who runs `envoi migrate`) keeps all of that.
--
-- Roles are cluster-wide: create them only when missing, and let a database
-- migrated at the same moment on the same server create them first.
DO $$
DECLARE
    role_name text;
BEGIN
    FOREACH role_name IN ARRAY ARRAY['envoi_server', 'envoi_gateway'] LOOP
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = role_name) THEN
            BEGIN
                EXECUTE format('CREATE ROLE %I NOLOGIN', role_name);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;  -- created concurrently by another migration
            END;
        END IF;
    END LOOP;
END $$;

REVOKE ALL ON ALL TABLES IN SCHEMA public FROM envoi_server, envoi_gateway;

-- The core: exactly the statements its code and its triggers run (triggers run
-- as the invoker). UPDATE also allows SELECT ... FOR UPDATE. DELETE only where
-- the code deletes; postings and outbox_events are append-only.
GRANT SELECT ON schema_migrations TO envoi_server;
GRANT SELECT, INSERT, UPDATE ON accounts, transfers, api_tokens, card_top_ups, payouts,
    collections TO envoi_server;
GRANT SELECT, INSERT ON postings, outbox_events TO envoi_server;
-- idempotency_keys: the daily purge; identities: unlink (and re-link, ON CONFLICT DO
-- UPDATE); deferred_credits: folded into the balance by deferred_credits_take().
GRANT SELECT, INSERT, DELETE ON idempotency_keys TO envoi_server;
GRANT SELECT, INSERT, UPDATE, DELETE ON identities TO envoi_server;
GRANT SELECT, INSERT, DELETE ON deferred_credits TO envoi_server;
-- Audit trails, written once (their triggers forbid changes): code resets,
-- debit mandates. Refunds to a card are marked sent once.
GRANT SELECT, INSERT ON code_resets, debit_mandate_changes TO envoi_server;
GRANT SELECT, INSERT, UPDATE ON top_up_refunds TO envoi_server;

-- The gateway: its own state only, nothing of the ledger.
GRANT SELECT, INSERT, UPDATE ON channel_cursors, channel_messages TO envoi_gateway;
