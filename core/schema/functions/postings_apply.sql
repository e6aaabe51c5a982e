-- Postings keep balances equal to their sum, one change per account and
-- statement: a net credit to an account that takes credits deferred is one
-- row of deferred_credits; every other change updates balance_cents.
CREATE OR REPLACE FUNCTION postings_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO deferred_credits (account_id, amount_cents)
    SELECT d.account_id, d.delta_cents
      FROM (SELECT account_id, sum(amount_cents) AS delta_cents
              FROM inserted GROUP BY account_id) d
      JOIN accounts a USING (account_id)
     WHERE a.credits_deferred AND d.delta_cents > 0
     ORDER BY d.account_id;
    -- Lock in account_id order, as the services do, so that no two
    -- statements wait on each other in a circle.
    PERFORM 1 FROM accounts a
      JOIN (SELECT account_id, sum(amount_cents) AS delta_cents
              FROM inserted GROUP BY account_id) d USING (account_id)
     WHERE NOT (a.credits_deferred AND d.delta_cents > 0)
     ORDER BY a.account_id FOR NO KEY UPDATE OF a;
    UPDATE accounts a SET balance_cents = a.balance_cents + d.delta_cents
      FROM (SELECT account_id, sum(amount_cents) AS delta_cents
              FROM inserted GROUP BY account_id) d
     WHERE a.account_id = d.account_id AND NOT (a.credits_deferred AND d.delta_cents > 0);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER postings_apply AFTER INSERT ON postings
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION postings_apply();
