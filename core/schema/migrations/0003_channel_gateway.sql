-- The channel gateway's own state. It talks to the ledger only through gRPC;
-- these tables hold what it must not lose across restarts.

-- Where each channel's readers are: a poller's since_id, the event feed.
CREATE TABLE channel_cursors (
    channel text NOT NULL,
    name text NOT NULL,
    value text NOT NULL,
    update_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (channel, name)
);

-- Messages to send, each once: written before sending, marked when sent,
-- retried after a rate limit or an error.
CREATE TABLE channel_messages (
    channel text NOT NULL,
    message_key text NOT NULL,
    text text NOT NULL,
    in_reply_to text,
    direct_to text,
    create_time timestamptz NOT NULL DEFAULT now(),
    not_before timestamptz NOT NULL DEFAULT now(),
    attempts integer NOT NULL DEFAULT 0,
    sent_time timestamptz,
    PRIMARY KEY (channel, message_key),
    CHECK ((in_reply_to IS NULL) <> (direct_to IS NULL))
);
CREATE INDEX channel_messages_due ON channel_messages (not_before) WHERE sent_time IS NULL;
