-- Whether a refund of this payment goes into escrow rather than to its payer:
-- the payer's account closed, and they paid from a social identity, which
-- whoever links it next may claim. A payer who paid from no identity is
-- refunded to the account, which refuses it (ACCOUNT_CLOSED).
CREATE OR REPLACE FUNCTION refund_to_escrow(paid transfers) RETURNS boolean
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN paid.from_subject_id IS NOT NULL
       AND (SELECT close_time FROM accounts WHERE account_id = paid.from_account_id) IS NOT NULL;
END $$;
