-- WatchEvents streams wake on NOTIFY instead of polling the outbox.
--
-- Every transaction that writes outbox events sends one notification on
-- channel 'envoi_outbox' when it commits (PostgreSQL folds identical
-- notifications of one transaction into one, and sends none on rollback).
-- The payload is the transaction's id, the tx_id of its events: a listener
-- then knows whether those events are visible yet to a reader that follows
-- the outbox below the oldest running transaction (ledger.list_events).
CREATE OR REPLACE FUNCTION outbox_events_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('envoi_outbox', pg_current_xact_id()::text);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_notify();
