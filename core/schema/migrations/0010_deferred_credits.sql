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

-- Its functions and triggers live in core/schema/functions/: accounts_credits_deferred_by_kind, account_balance_cents, postings_apply, deferred_credits_take, accounts_fold_deferred_credits, fold_deferred_credits.

CREATE TABLE deferred_credits (
    deferred_credit_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id uuid NOT NULL REFERENCES accounts,
    amount_cents bigint NOT NULL CHECK (amount_cents > 0)
);
CREATE INDEX deferred_credits_account ON deferred_credits (account_id);
