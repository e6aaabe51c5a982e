-- Its functions and triggers live in core/schema/functions/: outbox_events_notify.

-- One account's events from its first one: found through its transfers.
CREATE INDEX outbox_events_transfer ON outbox_events (transfer_id);
