-- What a confirmation checks once the code is right, both rows locked: a
-- request (a merchant's or a person's) held nothing, so what a payment checks when it is
-- initiated (the payer's caps and available balance) is checked now; and
-- the recipient may have grown past its maximum balance, or lost its
-- verification, since the initiation.
CREATE OR REPLACE FUNCTION transfer_payable_refusal(
    s jsonb, t transfers, payer accounts, recipient accounts
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(
        CASE WHEN t.requested THEN
            coalesce(payment_caps_refusal(s, payer, recipient.kind, recipient, t.amount_cents),
                     available_refusal(payer, t.amount_cents, 'the payer''s')) END,
        CASE WHEN recipient.kind <> 'SYSTEM' THEN
            coalesce(max_balance_refusal(s, recipient, t.amount_cents),
                     recipient_verified_refusal(recipient.account_id, recipient.kind,
                                                recipient.profile_verify_time)) END);
END $$;
