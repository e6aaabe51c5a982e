-- The ledger. The money rules live here, next to the data, so that no code
-- path (Python, psql, a future service) can break them:
--   * postings of a transfer sum to zero (deferred constraint trigger);
--   * an account's balance is the sum of its postings, and held is the sum
--     of its pending transfers (maintained only by the triggers below);
--   * balance - held never goes below the account's floor (CHECK);
--   * a pending transfer resolves exactly once, and resolved transfers and
--     postings never change (transfers_apply, forbid_change);
--   * every change of a transfer's state writes its outbox event in the
--     same transaction (transfers_apply).

CREATE TABLE accounts (
    account_id uuid PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('PERSON', 'ASSOCIATION', 'MERCHANT', 'SYSTEM')),
    -- Set on system accounts only, e.g. 'FUNDING': one per purpose and currency.
    system_purpose text,
    display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    currency_code text NOT NULL CHECK (currency_code ~ '^[A-Z]{3}$'),
    balance_cents bigint NOT NULL DEFAULT 0,
    held_cents bigint NOT NULL DEFAULT 0 CHECK (held_cents >= 0),
    -- The lowest balance - held may reach. NULL (no floor) only for system
    -- accounts that money enters the ledger from.
    floor_cents bigint DEFAULT 0,
    -- HMAC-SHA256 of the confirmation code under a key the database never sees.
    code_hmac bytea,
    -- Consecutive wrong codes; confirmations lock at the configured maximum.
    failed_code_attempts integer NOT NULL DEFAULT 0 CHECK (failed_code_attempts >= 0),
    create_time timestamptz NOT NULL DEFAULT now(),
    UNIQUE (account_id, currency_code),
    UNIQUE (system_purpose, currency_code),
    CHECK ((kind = 'SYSTEM') = (system_purpose IS NOT NULL)),
    CHECK (kind = 'SYSTEM' OR (floor_cents IS NOT NULL AND code_hmac IS NOT NULL)),
    CONSTRAINT balance_above_floor CHECK (balance_cents - held_cents >= floor_cents)
);

CREATE TABLE transfers (
    transfer_id uuid PRIMARY KEY,
    -- Insertion order, for history pages.
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    kind text NOT NULL CHECK (kind IN ('PAYMENT', 'FUNDING')),
    state text NOT NULL
        CHECK (state IN ('PENDING_CONFIRMATION', 'COMPLETED', 'CANCELLED', 'EXPIRED')),
    from_account_id uuid NOT NULL,
    to_account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    memo text NOT NULL DEFAULT '' CHECK (length(memo) <= 280),
    -- Principal of the token that initiated it ("channel:twitter", "wallet", ...).
    initiated_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    expire_time timestamptz,
    resolve_time timestamptz,
    -- Both sides hold the transfer's currency.
    FOREIGN KEY (from_account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    FOREIGN KEY (to_account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    CHECK (from_account_id <> to_account_id),
    CHECK ((state = 'PENDING_CONFIRMATION') = (resolve_time IS NULL)),
    CHECK (state <> 'PENDING_CONFIRMATION' OR expire_time IS NOT NULL)
);
CREATE INDEX transfers_from_seq ON transfers (from_account_id, seq);
CREATE INDEX transfers_to_seq ON transfers (to_account_id, seq);
-- Daily caps sum what a sender spent since a time.
CREATE INDEX transfers_from_time ON transfers (from_account_id, create_time)
    INCLUDE (amount_cents, state);
CREATE INDEX transfers_pending_expiry ON transfers (expire_time)
    WHERE state = 'PENDING_CONFIRMATION';

-- One leg of a transfer: a signed amount on one account.
CREATE TABLE postings (
    posting_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    transfer_id uuid NOT NULL REFERENCES transfers,
    account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents <> 0),
    create_time timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (account_id, currency_code) REFERENCES accounts (account_id, currency_code)
);
CREATE INDEX postings_transfer ON postings (transfer_id);

-- Transactional outbox: later readers stream and deliver these.
CREATE TABLE outbox_events (
    event_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_type text NOT NULL CHECK (event_type IN (
        'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED')),
    transfer_id uuid NOT NULL REFERENCES transfers,
    create_time timestamptz NOT NULL DEFAULT now()
);

-- AIP-155 request ids: the first answer, stored with the effect it describes.
CREATE TABLE idempotency_keys (
    principal text NOT NULL,
    request_id text NOT NULL,
    method text NOT NULL,
    request_sha256 bytea NOT NULL,
    -- Exactly one: the serialized response, or the serialized google.rpc.Status
    -- of an error that changed state (a wrong code counts an attempt).
    response_bytes bytea,
    status_bytes bytea,
    create_time timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (principal, request_id),
    CHECK ((response_bytes IS NULL) <> (status_bytes IS NULL))
);
CREATE INDEX idempotency_keys_time ON idempotency_keys (create_time);

-- Bearer tokens, stored as SHA-256 of the token (tokens carry 256 random bits).
CREATE TABLE api_tokens (
    token_id uuid PRIMARY KEY,
    token_sha256 bytea NOT NULL UNIQUE,
    role text NOT NULL CHECK (role IN ('channel', 'wallet', 'merchant', 'admin')),
    channel_name text CHECK (channel_name ~ '^[a-z][a-z0-9_-]{0,31}$'),
    merchant_account_id uuid REFERENCES accounts,
    create_time timestamptz NOT NULL DEFAULT now(),
    revoke_time timestamptz,
    CHECK ((role = 'channel') = (channel_name IS NOT NULL)),
    CHECK ((role = 'merchant') = (merchant_account_id IS NOT NULL))
);

-- Its functions and triggers live in core/schema/functions/: postings_apply, postings_check_balanced, forbid_change, transfers_apply.
