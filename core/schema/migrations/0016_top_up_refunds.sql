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

CREATE TRIGGER top_up_refunds_no_delete BEFORE DELETE ON top_up_refunds
    FOR EACH ROW EXECUTE FUNCTION forbid_change();

CREATE FUNCTION top_up_refunds_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    top_up card_top_ups;
BEGIN
    IF TG_OP = 'INSERT' THEN
        SELECT * INTO top_up FROM card_top_ups WHERE top_up_id = NEW.top_up_id;
        IF top_up.state IS DISTINCT FROM 'FAILED'
           OR top_up.failure_reason IS DISTINCT FROM 'max_balance_exceeded' THEN
            RAISE EXCEPTION 'top-up % was not failed for its maximum balance', NEW.top_up_id
                USING ERRCODE = 'check_violation';
        END IF;
        IF NEW.send_time IS NOT NULL THEN
            RAISE EXCEPTION 'a refund starts unsent' USING ERRCODE = 'check_violation';
        END IF;
        -- The whole charge goes back: the amount is the top-up's, whatever the caller wrote.
        NEW.currency_code := top_up.currency_code;
        NEW.amount_cents := top_up.amount_cents;
        RETURN NEW;
    END IF;
    IF OLD.send_time IS NOT NULL
       OR (NEW.top_up_id, NEW.refund_id, NEW.currency_code, NEW.amount_cents, NEW.create_time)
          IS DISTINCT FROM
          (OLD.top_up_id, OLD.refund_id, OLD.currency_code, OLD.amount_cents, OLD.create_time)
    THEN
        RAISE EXCEPTION 'a refund may only be sent, once' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER top_up_refunds_check BEFORE INSERT OR UPDATE ON top_up_refunds
    FOR EACH ROW EXECUTE FUNCTION top_up_refunds_check();

-- envoi's own reason is envoi's: a top-up failed for its maximum balance has
-- its refund by the end of the transaction that failed it.
CREATE FUNCTION card_top_ups_refunded_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM top_up_refunds WHERE top_up_id = NEW.top_up_id) THEN
        RAISE EXCEPTION 'top-up % failed for its maximum balance without a refund', NEW.top_up_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER card_top_ups_refunded AFTER INSERT OR UPDATE ON card_top_ups
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (NEW.state = 'FAILED' AND NEW.failure_reason = 'max_balance_exceeded')
    EXECUTE FUNCTION card_top_ups_refunded_check();
