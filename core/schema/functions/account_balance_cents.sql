-- What an account holds: its balance_cents and what waits to be folded in
-- (looked up only for the accounts that take credits deferred: every
-- account read goes through here).
CREATE OR REPLACE FUNCTION account_balance_cents(a accounts) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT a.balance_cents
         + CASE WHEN a.credits_deferred
                THEN coalesce((SELECT sum(d.amount_cents) FROM deferred_credits d
                                WHERE d.account_id = a.account_id), 0)::bigint
                ELSE 0 END
$$;
