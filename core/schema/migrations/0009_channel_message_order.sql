-- Messages go out in the order they were queued. Those queued together (one
-- relay of several events) share a create_time, and their keys do not sort in
-- event order, so the order is an insertion sequence.
ALTER TABLE channel_messages ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY;
DROP INDEX channel_messages_due;
CREATE INDEX channel_messages_due ON channel_messages (channel, seq) WHERE sent_time IS NULL;
