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

-- Its functions and triggers live in core/schema/functions/: transfers_apply.

-- Merchants' API keys are merchant tokens (api_tokens) with a label and the
-- last 4 characters of the secret, to tell them apart. A key rotated with a
-- grace period gets a revoke_time in the future: it works until then.
ALTER TABLE api_tokens
    ADD COLUMN label text NOT NULL DEFAULT '' CHECK (length(label) <= 64),
    ADD COLUMN secret_last4 text NOT NULL DEFAULT '' CHECK (length(secret_last4) <= 4);
CREATE INDEX api_tokens_merchant ON api_tokens (merchant_account_id, create_time)
    WHERE merchant_account_id IS NOT NULL;
