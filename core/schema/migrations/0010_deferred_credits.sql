-- Hot accounts. A charity drive sends thousands of donations to one
-- association at once; if every credit updated the association's row, they
-- would all queue on that one row lock. Credits to an account that takes
-- them deferred (associations, and the escrow accounts every payment to an
-- unlinked identity goes through) are written as rows of deferred_credits
-- instead: inserting a row takes no lock anyone else waits for.
--
-- The rules become:
--   * an account's balance is balance_cents plus its deferred credits, and
--     that is the sum of its postings (account_balance_cents below);
--   * deferred credits are folded into balance_cents, under the row lock,
--     before anything lowers what the account has available (a BEFORE UPDATE
--     trigger), so the floor CHECK always sees all the money; maintenance
--     folds the rest now and then so the rows do not pile up;
--   * the floor CHECK is untouched: a credit can only raise a balance.

ALTER TABLE accounts ADD COLUMN credits_deferred boolean NOT NULL DEFAULT false;
UPDATE accounts SET credits_deferred = true
 WHERE kind = 'ASSOCIATION' OR system_purpose = 'ESCROW';

CREATE FUNCTION accounts_credits_deferred_by_kind() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.credits_deferred := NEW.kind = 'ASSOCIATION'
                            OR NEW.system_purpose IS NOT DISTINCT FROM 'ESCROW';
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_credits_deferred_by_kind BEFORE INSERT ON accounts
    FOR EACH ROW EXECUTE FUNCTION accounts_credits_deferred_by_kind();

CREATE TABLE deferred_credits (
    deferred_credit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0)
);
CREATE INDEX deferred_credits_account ON deferred_credits (account_id);

-- What an account holds: its balance_cents and what waits to be folded in
-- (looked up only for the accounts that take credits deferred: every
-- account read goes through here).
CREATE FUNCTION account_balance_cents(a accounts) RETURNS bigint
    LANGUAGE sql STABLE AS $$
    SELECT a.balance_cents
         + CASE WHEN a.credits_deferred
                THEN coalesce((SELECT sum(d.amount_cents) FROM deferred_credits d
                                WHERE d.account_id = a.account_id), 0)::bigint
                ELSE 0 END
$$;

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

-- Moves an account's deferred credits into balance_cents; its row must be
-- locked first (the row lock orders folds against each other and debits).
CREATE FUNCTION deferred_credits_take(p_account_id uuid) RETURNS bigint
    LANGUAGE sql AS $$
    WITH folded AS (DELETE FROM deferred_credits WHERE account_id = p_account_id
                    RETURNING amount_cents)
    SELECT coalesce(sum(amount_cents), 0)::bigint FROM folded
$$;

-- Whatever lowers what a deferred-credit account has available (a debit, a
-- hold) first takes in its deferred credits: the floor CHECK then sees them.
CREATE FUNCTION accounts_fold_deferred_credits() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.balance_cents := NEW.balance_cents + deferred_credits_take(NEW.account_id);
    RETURN NEW;
END $$;
CREATE TRIGGER accounts_fold_deferred_credits BEFORE UPDATE OF balance_cents, held_cents
    ON accounts FOR EACH ROW
    WHEN (OLD.credits_deferred
          AND NEW.balance_cents - NEW.held_cents < OLD.balance_cents - OLD.held_cents)
    EXECUTE FUNCTION accounts_fold_deferred_credits();

-- For maintenance: fold one account's deferred credits now.
CREATE FUNCTION fold_deferred_credits(p_account_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts WHERE account_id = p_account_id FOR NO KEY UPDATE;
    UPDATE accounts SET balance_cents = balance_cents + deferred_credits_take(p_account_id)
     WHERE account_id = p_account_id;
END $$;
