-- Payment requests (PaymentRequestService.RequestPayment) and merchants' API
-- keys (ApiKeyService).
--
-- A payment request is a PAYMENT transfer from a person to a merchant with
-- the merchant's reference. Unlike a payment its sender starts, it holds
-- nothing while it waits for the payer's code: a merchant must not be able
-- to lock anyone's money by asking. The money is checked (with the payer's
-- row locked, as ConfirmTransfer does) and posted only when the payer
-- confirms; the floor CHECK is still the last word. So the rules become:
--   * held_cents is the sum of the account's pending transfers that are not
--     payment requests, and of its pending payouts;
--   * one pending or completed request per merchant and reference: an order
--     is paid at most once (a declined or expired one may be asked again).

ALTER TABLE transfers
    ADD COLUMN merchant_reference text CHECK (merchant_reference ~ '^[!-~]{1,64}$'),
    ADD CONSTRAINT payment_requests_are_payments
        CHECK (merchant_reference IS NULL OR kind = 'PAYMENT');
CREATE UNIQUE INDEX transfers_open_merchant_reference
    ON transfers (to_account_id, merchant_reference)
    WHERE merchant_reference IS NOT NULL AND state IN ('PENDING_CONFIRMATION', 'COMPLETED');
CREATE INDEX transfers_merchant_reference ON transfers (to_account_id, merchant_reference, seq)
    WHERE merchant_reference IS NOT NULL;

-- The function of 0012 (0002 with the fee legs), with two changes: a payment request holds nothing
-- while pending (so it releases nothing when it resolves), and its
-- merchant_reference never changes.
CREATE OR REPLACE FUNCTION transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'PENDING_CONFIRMATION' THEN
            IF NEW.merchant_reference IS NULL THEN
                UPDATE accounts SET held_cents = held_cents + NEW.amount_cents
                 WHERE account_id = NEW.from_account_id;
            END IF;
            event := 'CONFIRMATION_REQUIRED';
        ELSIF NEW.state = 'COMPLETED' THEN
            PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            event := 'TRANSFER_COMPLETED';
        ELSE
            RAISE EXCEPTION 'a transfer starts pending or completed'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF (NEW.transfer_id, NEW.seq, NEW.kind, NEW.from_account_id, NEW.currency_code,
            NEW.amount_cents, NEW.fee_cents, NEW.memo, NEW.initiated_by, NEW.create_time,
            NEW.expire_time, NEW.from_namespace, NEW.from_subject_id, NEW.from_handle,
            NEW.to_namespace, NEW.to_subject_id, NEW.to_handle, NEW.channel_reference,
            NEW.merchant_reference)
           IS DISTINCT FROM
           (OLD.transfer_id, OLD.seq, OLD.kind, OLD.from_account_id, OLD.currency_code,
            OLD.amount_cents, OLD.fee_cents, OLD.memo, OLD.initiated_by, OLD.create_time,
            OLD.expire_time, OLD.from_namespace, OLD.from_subject_id, OLD.from_handle,
            OLD.to_namespace, OLD.to_subject_id, OLD.to_handle, OLD.channel_reference,
            OLD.merchant_reference) THEN
            RAISE EXCEPTION 'a transfer may only change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF NEW.to_account_id <> OLD.to_account_id
           AND NOT (OLD.state = 'AWAITING_CLAIM' AND NEW.state = 'COMPLETED') THEN
            RAISE EXCEPTION 'only a claim changes the recipient'
                USING ERRCODE = 'restrict_violation';
        END IF;

        IF OLD.state = 'PENDING_CONFIRMATION'
           AND NEW.state IN ('COMPLETED', 'AWAITING_CLAIM', 'CANCELLED', 'EXPIRED') THEN
            IF OLD.merchant_reference IS NULL THEN
                UPDATE accounts SET held_cents = held_cents - OLD.amount_cents
                 WHERE account_id = OLD.from_account_id;
            END IF;
            IF NEW.state IN ('COMPLETED', 'AWAITING_CLAIM') THEN
                PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            END IF;
            event := CASE NEW.state
                         WHEN 'COMPLETED' THEN 'TRANSFER_COMPLETED'
                         WHEN 'AWAITING_CLAIM' THEN 'TRANSFER_AWAITING_CLAIM'
                         WHEN 'CANCELLED' THEN 'TRANSFER_CANCELLED'
                         ELSE 'TRANSFER_EXPIRED' END;
        ELSIF OLD.state = 'AWAITING_CLAIM' AND NEW.state IN ('COMPLETED', 'REFUNDED') THEN
            -- Out of escrow (the old recipient) to the claimer or back to the
            -- sender. Money paid into escrow bore no fee (escrow is no merchant).
            PERFORM post_transfer_legs(
                NEW, OLD.to_account_id,
                CASE NEW.state WHEN 'COMPLETED' THEN NEW.to_account_id
                               ELSE NEW.from_account_id END);
            event := CASE NEW.state WHEN 'COMPLETED' THEN 'TRANSFER_CLAIMED'
                                    ELSE 'TRANSFER_REFUNDED' END;
        ELSE
            RAISE EXCEPTION 'transfer % cannot go from % to %',
                OLD.transfer_id, OLD.state, NEW.state
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;

    INSERT INTO outbox_events (event_type, transfer_id) VALUES (event, NEW.transfer_id);
    RETURN NULL;
END $$;

-- Merchants' API keys are merchant tokens (api_tokens) with a label and the
-- last 4 characters of the secret, to tell them apart. A key rotated with a
-- grace period gets a revoke_time in the future: it works until then.
ALTER TABLE api_tokens
    ADD COLUMN label text NOT NULL DEFAULT '' CHECK (length(label) <= 64),
    ADD COLUMN secret_last4 text NOT NULL DEFAULT '' CHECK (length(secret_last4) <= 4);
CREATE INDEX api_tokens_merchant ON api_tokens (merchant_account_id, create_time)
    WHERE merchant_account_id IS NOT NULL;
