-- Money in by bank card (top-ups) and money out to a bank account (payouts),
-- through payment providers. The rules, here next to the data:
--   * a top-up credits its account only when it SUCCEEDED, exactly once, and
--     by exactly its amount: the FUNDING transfer is made by the trigger below,
--     never by the caller;
--   * a pending payout holds its amount on the account (held_cents), so
--     balance - held >= floor still bounds what can be spent or withdrawn;
--     SETTLED releases the hold and moves the money to the PAYOUT system
--     account in one PAYOUT transfer; FAILED releases the hold only;
--   * every PAYOUT transfer belongs to a settled payout (deferred check);
--   * top-ups and payouts resolve once, and never change after that;
--   * each state that moves money writes its outbox event in the same transaction.
-- No card number is ever stored: only the provider's token and the last 4 digits.

ALTER TABLE transfers DROP CONSTRAINT transfers_kind_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_kind_check
    CHECK (kind IN ('PAYMENT', 'FUNDING', 'PAYOUT'));

CREATE TABLE card_top_ups (
    top_up_id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    provider text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- The provider's id of the charge: callbacks name the top-up by it.
    provider_reference text NOT NULL CHECK (length(provider_reference) BETWEEN 1 AND 128),
    -- The provider's token for the card, and what a person recognises it by.
    card_token text NOT NULL CHECK (length(card_token) BETWEEN 1 AND 256),
    card_last4 text NOT NULL CHECK (card_last4 ~ '^[0-9]{4}$'),
    state text NOT NULL CHECK (state IN ('PENDING', 'SUCCEEDED', 'FAILED')),
    -- The provider's code for a failure, e.g. card_declined.
    failure_reason text CHECK (length(failure_reason) BETWEEN 1 AND 64),
    -- Where the person completes a 3-D Secure step, while PENDING.
    next_action_url text NOT NULL DEFAULT '' CHECK (length(next_action_url) <= 2048),
    -- The FUNDING transfer that credited the account; set by the trigger.
    transfer_id uuid UNIQUE REFERENCES transfers DEFERRABLE INITIALLY DEFERRED,
    initiated_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    resolve_time timestamptz,
    FOREIGN KEY (account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    UNIQUE (provider, provider_reference),
    CHECK ((state = 'SUCCEEDED') = (transfer_id IS NOT NULL)),
    CHECK ((state = 'FAILED') = (failure_reason IS NOT NULL)),
    CHECK ((state = 'PENDING') = (resolve_time IS NULL))
);
CREATE INDEX card_top_ups_account ON card_top_ups (account_id, seq);

CREATE TABLE payouts (
    payout_id uuid PRIMARY KEY,
    seq bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    account_id uuid NOT NULL,
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    provider text NOT NULL CHECK (provider ~ '^[a-z][a-z0-9_-]{0,31}$'),
    -- Set once the provider took the payout (submit_time): callbacks name it by this.
    provider_reference text CHECK (length(provider_reference) BETWEEN 1 AND 128),
    -- Electronic form: country, check digits, then the national account number.
    iban text NOT NULL CHECK (iban ~ '^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$'),
    -- SEPA allows 70 characters for a name.
    beneficiary_name text NOT NULL CHECK (length(beneficiary_name) BETWEEN 1 AND 70),
    state text NOT NULL CHECK (state IN ('PENDING', 'SETTLED', 'FAILED')),
    failure_reason text CHECK (length(failure_reason) BETWEEN 1 AND 64),
    -- The PAYOUT transfer that moved the money out; set by the trigger.
    transfer_id uuid UNIQUE REFERENCES transfers DEFERRABLE INITIALLY DEFERRED,
    initiated_by text NOT NULL,
    create_time timestamptz NOT NULL DEFAULT now(),
    submit_time timestamptz,
    resolve_time timestamptz,
    FOREIGN KEY (account_id, currency_code) REFERENCES accounts (account_id, currency_code),
    UNIQUE (provider, provider_reference),
    CHECK ((submit_time IS NULL) = (provider_reference IS NULL)),
    CHECK ((state = 'SETTLED') = (transfer_id IS NOT NULL)),
    CHECK ((state = 'FAILED') = (failure_reason IS NOT NULL)),
    CHECK ((state = 'PENDING') = (resolve_time IS NULL))
);
CREATE INDEX payouts_account ON payouts (account_id, seq);
-- What the background submitter still has to hand to a provider.
CREATE INDEX payouts_unsubmitted ON payouts (create_time)
    WHERE state = 'PENDING' AND submit_time IS NULL;

-- Its functions and triggers live in core/schema/functions/: forbid_change, card_top_ups_check, card_top_ups_apply, payouts_check, payouts_apply, payout_transfers_check.

-- Events now describe a transfer, a top-up or a payout: exactly one of them.
ALTER TABLE outbox_events
    ALTER COLUMN transfer_id DROP NOT NULL,
    ADD COLUMN top_up_id uuid REFERENCES card_top_ups,
    ADD COLUMN payout_id uuid REFERENCES payouts,
    ADD CONSTRAINT outbox_events_one_subject
        CHECK (num_nonnulls(transfer_id, top_up_id, payout_id) = 1);
ALTER TABLE outbox_events DROP CONSTRAINT outbox_events_event_type_check;
ALTER TABLE outbox_events ADD CONSTRAINT outbox_events_event_type_check CHECK (event_type IN (
    'CONFIRMATION_REQUIRED', 'TRANSFER_COMPLETED', 'TRANSFER_CANCELLED', 'TRANSFER_EXPIRED',
    'TRANSFER_AWAITING_CLAIM', 'TRANSFER_CLAIMED', 'TRANSFER_REFUNDED',
    'TOP_UP_SUCCEEDED', 'TOP_UP_FAILED',
    'PAYOUT_REQUESTED', 'PAYOUT_SETTLED', 'PAYOUT_FAILED'));
