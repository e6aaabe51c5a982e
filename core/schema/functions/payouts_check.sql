-- Payouts: inserted PENDING (holding the amount), then submitted to the
-- provider (provider_reference and submit_time, once), then SETTLED | FAILED.
CREATE OR REPLACE FUNCTION payouts_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'PENDING' OR NEW.submit_time IS NOT NULL THEN
            RAISE EXCEPTION 'a payout starts pending and unsubmitted'
                USING ERRCODE = 'check_violation';
        END IF;
    ELSE
        IF OLD.state <> 'PENDING' THEN
            RAISE EXCEPTION 'payout % is already %', OLD.payout_id, OLD.state
                USING ERRCODE = 'restrict_violation';
        END IF;
        IF (NEW.payout_id, NEW.seq, NEW.account_id, NEW.currency_code, NEW.amount_cents,
            NEW.provider, NEW.iban, NEW.beneficiary_name, NEW.initiated_by, NEW.create_time)
           IS DISTINCT FROM
           (OLD.payout_id, OLD.seq, OLD.account_id, OLD.currency_code, OLD.amount_cents,
            OLD.provider, OLD.iban, OLD.beneficiary_name, OLD.initiated_by, OLD.create_time)
           OR (OLD.submit_time IS NOT NULL
               AND (NEW.submit_time, NEW.provider_reference)
                   IS DISTINCT FROM (OLD.submit_time, OLD.provider_reference)) THEN
            RAISE EXCEPTION 'a payout may only be submitted once and change its state'
                USING ERRCODE = 'restrict_violation';
        END IF;
    END IF;
    NEW.transfer_id := CASE WHEN NEW.state = 'SETTLED' THEN gen_random_uuid() END;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER payouts_check BEFORE INSERT OR UPDATE ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_check();
