-- Moves an account's deferred credits into balance_cents; its row must be
-- locked first (the row lock orders folds against each other and debits).
CREATE OR REPLACE FUNCTION deferred_credits_take(p_account_id uuid) RETURNS bigint
    LANGUAGE sql AS $$
    WITH folded AS (DELETE FROM deferred_credits WHERE account_id = p_account_id
                    RETURNING amount_cents)
    SELECT coalesce(sum(amount_cents), 0)::bigint FROM folded
$$;
