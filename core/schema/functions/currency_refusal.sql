-- Money in another currency than the one held; p_holder names who holds it.
CREATE OR REPLACE FUNCTION currency_refusal(
    p_held_currency_code text, p_currency_code text, p_holder text,
    p_field text DEFAULT 'amount.currency_code'
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_held_currency_code = p_currency_code THEN
        RETURN NULL;
    END IF;
    RETURN refusal('CURRENCY_MISMATCH',
                   format('%s holds %s, not %s', p_holder, p_held_currency_code, p_currency_code),
                   '{}', jsonb_build_object(p_field, 'must be ' || p_held_currency_code));
END $$;
