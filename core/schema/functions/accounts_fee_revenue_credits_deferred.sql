-- Where fees go: one system account per currency, like FUNDING and PAYOUT.
-- Every merchant payment credits it, so it takes its credits deferred (as
-- associations do, migration 0010) instead of queueing them on its row lock.
-- This trigger runs after accounts_credits_deferred_by_kind (triggers of one
-- event fire in name order), so it adds to that rule without restating it.
CREATE OR REPLACE FUNCTION accounts_fee_revenue_credits_deferred() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW.credits_deferred := true;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER accounts_fee_revenue_credits_deferred BEFORE INSERT ON accounts
    FOR EACH ROW WHEN (NEW.system_purpose = 'FEE_REVENUE')
    EXECUTE FUNCTION accounts_fee_revenue_credits_deferred();
