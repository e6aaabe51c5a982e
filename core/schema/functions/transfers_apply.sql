-- Two-phase transfers: a hold while pending; postings when completed; an
-- outbox event for every state; a resolved transfer never changes again.
--   PENDING_CONFIRMATION -> COMPLETED | AWAITING_CLAIM | CANCELLED | EXPIRED
--   AWAITING_CLAIM -> COMPLETED (claimed: to_account_id becomes the claimer)
--                   | REFUNDED (the money goes back to the sender)
-- The legs come from post_transfer_legs (with the fee), and fee_cents is one
-- of the columns that never change. A request (a merchant's or a person's:
-- `requested`) holds nothing while pending (so it releases nothing when it
-- resolves), and neither requested nor merchant_reference ever changes.
CREATE OR REPLACE FUNCTION transfers_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state = 'PENDING_CONFIRMATION' THEN
            IF NOT NEW.requested THEN
                UPDATE accounts SET held_cents = held_cents + NEW.amount_cents
                 WHERE account_id = NEW.from_account_id;
            END IF;
            event := 'CONFIRMATION_REQUIRED';
        ELSIF NEW.state = 'COMPLETED' THEN
            PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            event := 'TRANSFER_COMPLETED';
        ELSIF NEW.state = 'AWAITING_CLAIM' AND NEW.kind = 'REFUND' THEN
            -- To a payer whose account closed: into escrow for their identity.
            PERFORM post_transfer_legs(NEW, NEW.from_account_id, NEW.to_account_id);
            event := 'TRANSFER_AWAITING_CLAIM';
        ELSE
            RAISE EXCEPTION 'a transfer starts pending or completed (a refund may await its claim)'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF (NEW.transfer_id, NEW.seq, NEW.kind, NEW.from_account_id, NEW.currency_code,
            NEW.amount_cents, NEW.fee_cents, NEW.memo, NEW.initiated_by, NEW.create_time,
            NEW.expire_time, NEW.from_namespace, NEW.from_subject_id, NEW.from_handle,
            NEW.to_namespace, NEW.to_subject_id, NEW.to_handle, NEW.channel_reference,
            NEW.merchant_reference, NEW.requested)
           IS DISTINCT FROM
           (OLD.transfer_id, OLD.seq, OLD.kind, OLD.from_account_id, OLD.currency_code,
            OLD.amount_cents, OLD.fee_cents, OLD.memo, OLD.initiated_by, OLD.create_time,
            OLD.expire_time, OLD.from_namespace, OLD.from_subject_id, OLD.from_handle,
            OLD.to_namespace, OLD.to_subject_id, OLD.to_handle, OLD.channel_reference,
            OLD.merchant_reference, OLD.requested) THEN
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
            IF NOT OLD.requested THEN
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
            -- sender. Money paid into escrow bore no fee (escrow is no merchant);
            -- a refund's fee goes back to FEE_REVENUE with it (post_transfer_legs).
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
CREATE OR REPLACE TRIGGER transfers_apply AFTER INSERT ON transfers
    FOR EACH ROW WHEN (NEW.kind <> 'LEDGER') EXECUTE FUNCTION transfers_apply();
CREATE OR REPLACE TRIGGER transfers_apply_update AFTER UPDATE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_apply();
