-- Every check of a payment from a locked sender, in the order its errors are
-- reported; NULL when it may be held.
CREATE OR REPLACE FUNCTION payment_refusal(
    s jsonb, sender accounts, payee record, p_amount_cents bigint, p_currency_code text,
    p_initiated_by text
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    r accounts := payee.account;
BEGIN
    RETURN coalesce(
        settlement_refusal(sender.kind, 'from_account_id'),
        settlement_refusal(payee.kind, 'to_account_id'),
        currency_refusal(sender.currency_code, p_currency_code, 'from_account_id'),
        currency_refusal(payee.currency_code, p_currency_code, 'to_account_id'),
        CASE WHEN r.account_id IS NOT NULL THEN
            coalesce(recipient_verified_refusal(r.account_id, r.kind, r.profile_verify_time),
                     fee_below_amount_refusal(r, p_amount_cents)) END,
        payment_caps_refusal(s, sender, payee.kind, r, p_amount_cents),
        CASE WHEN p_initiated_by LIKE 'channel:%' THEN
            channel_holds_refusal(s, sender.account_id, p_amount_cents) END,
        available_refusal(sender, p_amount_cents, 'the sender''s'));
END $$;
