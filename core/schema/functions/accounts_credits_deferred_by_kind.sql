CREATE OR REPLACE FUNCTION accounts_credits_deferred_by_kind() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.credits_deferred := NEW.kind IN ('ASSOCIATION', 'COLLECTION')
                            OR NEW.system_purpose IS NOT DISTINCT FROM 'ESCROW';
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER accounts_credits_deferred_by_kind BEFORE INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_credits_deferred_by_kind();
