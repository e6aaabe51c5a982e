-- What an account holds: its balance_cents and what waits to be folded in
-- (looked up only for the accounts that take credits deferred: every
-- account read goes through here). PL/pgSQL: as a SQL-language function,
-- called from PL/pgSQL with a row variable, it was parsed and planned again
-- at every call (120 us a read in the core operations).
CREATE OR REPLACE FUNCTION account_balance_cents(a accounts) RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF NOT a.credits_deferred THEN
        RETURN a.balance_cents;
    END IF;
    RETURN a.balance_cents + coalesce((SELECT sum(d.amount_cents) FROM deferred_credits d
                                        WHERE d.account_id = a.account_id), 0)::bigint;
END $$;
