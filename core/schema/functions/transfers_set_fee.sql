-- The fee is decided here, so no caller can name another one.
CREATE OR REPLACE FUNCTION transfers_set_fee() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.fee_cents := coalesce(
        (SELECT merchant_fee_cents(NEW.amount_cents, a.fee_basis_points, a.fee_fixed_cents)
           FROM accounts a WHERE a.account_id = NEW.to_account_id AND a.kind = 'MERCHANT'),
        0);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER transfers_set_fee BEFORE INSERT ON transfers
    FOR EACH ROW WHEN (NEW.kind = 'PAYMENT') EXECUTE FUNCTION transfers_set_fee();
