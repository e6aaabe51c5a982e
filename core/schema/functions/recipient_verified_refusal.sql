-- A merchant or an association is paid only once an admin verified its
-- business profile (legal name, registration number).
CREATE OR REPLACE FUNCTION recipient_verified_refusal(
    p_account_id uuid, p_kind text, p_profile_verify_time timestamptz
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_kind NOT IN ('MERCHANT', 'ASSOCIATION') OR p_profile_verify_time IS NOT NULL THEN
        RETURN NULL;
    END IF;
    RETURN refusal('RECIPIENT_NOT_VERIFIED',
                   format('this %s is not verified yet: it cannot be paid', lower(p_kind)),
                   jsonb_build_object('account_id', p_account_id::text));
END $$;
