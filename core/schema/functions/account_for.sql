-- An account the APIs show (not envoi's own, not a collection), its balance
-- with what waits to be folded in; locked FOR NO KEY UPDATE when asked.
-- ACCOUNT_NOT_FOUND otherwise.
CREATE OR REPLACE FUNCTION account_for(p_account_id uuid, p_lock boolean) RETURNS accounts
    LANGUAGE plpgsql AS $$
DECLARE
    a accounts;
BEGIN
    IF p_lock THEN
        SELECT * INTO a FROM accounts
         WHERE account_id = p_account_id AND kind NOT IN ('SYSTEM', 'COLLECTION')
           FOR NO KEY UPDATE;
    ELSE
        SELECT * INTO a FROM accounts
         WHERE account_id = p_account_id AND kind NOT IN ('SYSTEM', 'COLLECTION');
    END IF;
    IF NOT FOUND THEN
        PERFORM refuse(refusal('ACCOUNT_NOT_FOUND', format('no account %s', p_account_id),
                               jsonb_build_object('account_id', p_account_id::text)));
    END IF;
    a.balance_cents := account_balance_cents(a);
    RETURN a;
END $$;
