-- Whatever lowers what a deferred-credit account has available (a debit, a
-- hold) first takes in its deferred credits: the floor CHECK then sees them.
CREATE OR REPLACE FUNCTION accounts_fold_deferred_credits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.balance_cents := NEW.balance_cents + deferred_credits_take(NEW.account_id);
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER accounts_fold_deferred_credits BEFORE UPDATE OF balance_cents, held_cents
    ON accounts FOR EACH ROW
    WHEN (OLD.credits_deferred
          AND NEW.balance_cents - NEW.held_cents < OLD.balance_cents - OLD.held_cents)
    EXECUTE FUNCTION accounts_fold_deferred_credits();
