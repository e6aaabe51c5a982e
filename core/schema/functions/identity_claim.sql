-- Credit every transfer waiting in escrow for an identity to the account it
-- is linked to now, at once; returns the ids of the transfers claimed. Money
-- the account itself sent to the identity goes back to it instead (an
-- account cannot pay itself), as does money in another currency. Money that
-- would take the account over its tier's maximum balance keeps waiting: a
-- higher tier claims it, or the claim window returns it. Locks the waiting
-- transfers, then the account, in the order every other path takes. An
-- account that closed meanwhile claims nothing: the money keeps waiting.
CREATE OR REPLACE FUNCTION identity_claim(
    s jsonb, p_namespace text, p_subject_id text, p_account_id uuid
) RETURNS uuid[] LANGUAGE plpgsql AS $$
DECLARE
    a accounts;
    t record;
    claimed uuid[] := '{}';
BEGIN
    PERFORM 1 FROM transfers WHERE state = 'AWAITING_CLAIM' AND to_namespace = p_namespace
       AND to_subject_id = p_subject_id ORDER BY transfer_id FOR UPDATE;
    a := account_for(p_account_id, true);
    IF a.close_time IS NOT NULL THEN
        RETURN claimed;  -- it closed since its identity was read: the money waits
    END IF;
    FOR t IN SELECT transfer_id, from_account_id, currency_code, amount_cents FROM transfers
              WHERE state = 'AWAITING_CLAIM' AND to_namespace = p_namespace
                AND to_subject_id = p_subject_id ORDER BY transfer_id LOOP
        IF t.from_account_id = p_account_id OR t.currency_code <> a.currency_code THEN
            UPDATE transfers SET state = 'REFUNDED' WHERE transfer_id = t.transfer_id;
        ELSIF max_balance_refusal(s, a, t.amount_cents) IS NULL THEN
            a.balance_cents := a.balance_cents + t.amount_cents;
            UPDATE transfers SET state = 'COMPLETED', to_account_id = p_account_id
             WHERE transfer_id = t.transfer_id;
            claimed := claimed || t.transfer_id;
        END IF;
    END LOOP;
    RETURN claimed;
END $$;
