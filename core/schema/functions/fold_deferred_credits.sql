-- For maintenance: fold one account's deferred credits now.
CREATE OR REPLACE FUNCTION fold_deferred_credits(p_account_id uuid) RETURNS void
    LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM accounts WHERE account_id = p_account_id FOR NO KEY UPDATE;
    UPDATE accounts SET balance_cents = balance_cents + deferred_credits_take(p_account_id)
     WHERE account_id = p_account_id;
END $$;
