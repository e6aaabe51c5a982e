-- Spending more than is available: the balance less its holds and its floor.
-- p_holder names whose it is ("the payer's"). The floor CHECK on accounts
-- stays the last word.
CREATE OR REPLACE FUNCTION available_refusal(a accounts, p_amount_cents bigint, p_holder text)
    RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_amount_cents <= a.balance_cents - a.held_cents - a.floor_cents THEN
        RETURN NULL;
    END IF;
    RETURN refusal('INSUFFICIENT_FUNDS', p_holder || ' available balance is too low');
END $$;
