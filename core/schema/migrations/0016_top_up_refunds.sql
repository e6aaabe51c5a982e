-- Card money that would take an account over its tier's maximum balance goes
-- back to the card. A top-up whose charge succeeded (synchronously, or by its
-- 3-D Secure callback) but whose credit would pass the maximum, checked with
-- the account's row locked, ends FAILED with envoi's own failure_reason
-- 'max_balance_exceeded', credits nothing, and gets one refund row, in the same
-- transaction. The refund is handed to the provider after commit (and by the
-- maintenance thread until the provider takes it), with refund_id as the
-- provider's idempotency key, so the card is refunded exactly once. The rules:
--   * a refund is of a top-up that FAILED with 'max_balance_exceeded', and of
--     its whole amount and currency (copied here, never by the caller);
--   * one refund per top-up; never deleted;
--   * the only change: sent once (provider_reference and send_time together).

CREATE TABLE top_up_refunds (
    top_up_id uuid PRIMARY KEY REFERENCES card_top_ups,
    -- The provider's idempotency key for the refund (the top-up id keyed the charge).
    refund_id uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    currency_code text NOT NULL,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0),
    -- The provider's id of the refund, once it took it.
    provider_reference text CHECK (length(provider_reference) BETWEEN 1 AND 128),
    create_time timestamptz NOT NULL DEFAULT now(),
    send_time timestamptz,
    CHECK ((send_time IS NULL) = (provider_reference IS NULL))
);
-- What the background sender still has to hand to a provider.
CREATE INDEX top_up_refunds_unsent ON top_up_refunds (create_time) WHERE send_time IS NULL;

-- Its functions and triggers live in core/schema/functions/: forbid_change, top_up_refunds_check, card_top_ups_refunded_check.
