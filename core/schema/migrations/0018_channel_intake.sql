-- A post is taken in once, for as long as envoi lives. Request ids are
-- forgotten after a day (ENVOI_IDEMPOTENCY_RETENTION_S), so they alone let a
-- genuine delivery replayed a month later start a new payment.

-- In the ledger: one transfer per channel message. A channel names its
-- message in channel_reference ("post:<id>", "dm:<id>"); InitiateTransfer
-- answers a second call for it with the first transfer.
CREATE UNIQUE INDEX transfers_channel_reference ON transfers (initiated_by, channel_reference)
    WHERE initiated_by LIKE 'channel:%' AND channel_reference <> '';

-- In the gateway's own state: every post it took in, whatever became of it
-- (a payment, a refusal, nothing), so that a replayed refusal is not tried
-- again once the sender has the money, nor answered twice.
CREATE TABLE channel_intake (
    channel text NOT NULL,
    post_id text NOT NULL CHECK (length(post_id) BETWEEN 1 AND 128),
    outcome text NOT NULL CHECK (outcome IN ('initiated', 'ignored', 'refused')),
    take_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, post_id)
);
-- The gateway records what it took in; the core never reads it.
GRANT SELECT, INSERT ON channel_intake TO envoi_gateway;
