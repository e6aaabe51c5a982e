CREATE OR REPLACE FUNCTION payouts_not_from_settlement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE account_id = NEW.account_id
                                        AND kind = 'SETTLEMENT') THEN
        RAISE EXCEPTION 'a settlement account is not withdrawn from'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'settlement_batches_only';
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER payouts_not_from_settlement BEFORE INSERT ON payouts
    FOR EACH ROW EXECUTE FUNCTION payouts_not_from_settlement();
