-- How each person wants channel notifications: a public reply (never with an
-- amount), a private message, or the wallet app only.
ALTER TABLE accounts
    ADD COLUMN notification_preference text NOT NULL DEFAULT 'PUBLIC_REPLY'
        CHECK (notification_preference IN ('PUBLIC_REPLY', 'PRIVATE_MESSAGE', 'APP_ONLY'));
