-- The account an identity of a network is linked to, or NULL.
CREATE OR REPLACE FUNCTION identity_account_id(p_namespace text, p_subject_id text)
    RETURNS uuid LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN (SELECT account_id FROM identities
             WHERE namespace = p_namespace AND subject_id = p_subject_id);
END $$;
