-- The last word on refunds, from any path: a REFUND names a completed payment
-- (a collection's contribution only from its cancellation), goes from its
-- recipient back to its payer in its currency (or, when the payer's account
-- closed, into escrow for the identity they paid from), and the refunds of one
-- payment never add up to more than it. Its fee is decided here (refund_fee_cents), so no caller can name
-- another.
-- The payment's row is locked: the refunds of one payment queue behind it.
CREATE OR REPLACE FUNCTION refunds_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    paid transfers;
    before_cents bigint;
BEGIN
    SELECT * INTO paid FROM transfers WHERE transfer_id = NEW.refund_of FOR UPDATE;
    -- A contribution is refunded only by its collection's cancellation, whole.
    IF paid.kind IS DISTINCT FROM 'PAYMENT' OR paid.state <> 'COMPLETED'
       OR paid.collection_id IS DISTINCT FROM NEW.collection_id THEN
        RAISE EXCEPTION 'a refund gives back a completed payment' USING
            ERRCODE = 'check_violation', CONSTRAINT = 'refunds_of_completed_payments';
    END IF;
    IF NEW.collection_id IS NOT NULL AND (NEW.amount_cents <> paid.amount_cents
       OR (SELECT state FROM collections WHERE collection_id = NEW.collection_id) <> 'CANCELLED') THEN
        RAISE EXCEPTION 'a contribution goes back whole, when its collection is cancelled' USING
            ERRCODE = 'check_violation', CONSTRAINT = 'refunds_of_contributions_on_cancel';
    END IF;
    IF (NEW.from_account_id, NEW.currency_code)
       IS DISTINCT FROM (paid.to_account_id, paid.currency_code)
       OR NOT (NEW.to_account_id = paid.from_account_id AND NEW.state = 'COMPLETED'
               OR NEW.state = 'AWAITING_CLAIM'
                  AND (NEW.to_namespace, NEW.to_subject_id)
                      = (paid.from_namespace, paid.from_subject_id)
                  AND NEW.to_account_id = (SELECT account_id FROM accounts
                      WHERE system_purpose = 'ESCROW' AND currency_code = paid.currency_code)
                  AND refund_to_escrow(paid)) THEN
        RAISE EXCEPTION 'a refund goes from the payment''s recipient back to its payer' USING
            ERRCODE = 'check_violation', CONSTRAINT = 'refunds_to_the_payer';
    END IF;
    before_cents := payment_refunded_cents(paid.transfer_id);
    IF before_cents + NEW.amount_cents > paid.amount_cents THEN
        RAISE EXCEPTION 'refunds of % would add up to more than it', paid.transfer_id USING
            ERRCODE = 'check_violation', CONSTRAINT = 'refunds_within_payment';
    END IF;
    NEW.fee_cents := refund_fee_cents(paid, before_cents, NEW.amount_cents);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER refunds_check BEFORE INSERT ON transfers
    FOR EACH ROW WHEN (NEW.kind = 'REFUND') EXECUTE FUNCTION refunds_check();
