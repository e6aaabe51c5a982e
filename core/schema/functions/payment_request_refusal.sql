-- What a payment request checks when a merchant (m) asks a payer (p): what
-- is about the merchant only (the cap on a payment to it, its maximum
-- balance, its verification and fee, as for a payment the payer starts),
-- and that neither side holds another currency. A request holds nothing, so
-- the payer's caps and money are checked when they confirm
-- (transfer_payable_refusal).
CREATE OR REPLACE FUNCTION payment_request_refusal(
    s jsonb, p accounts, m accounts, p_amount_cents bigint, p_currency_code text
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN coalesce(
        settlement_refusal(p.kind, 'payer_account_id'),
        currency_refusal(p.currency_code, p_currency_code, 'payer_account_id'),
        currency_refusal(m.currency_code, p_currency_code, 'account_id'),
        per_transfer_cap_refusal(s, m.kind, p_amount_cents),
        max_balance_refusal(s, m, p_amount_cents),
        recipient_verified_refusal(m.account_id, m.kind, m.profile_verify_time),
        fee_below_amount_refusal(m, p_amount_cents));
END $$;
