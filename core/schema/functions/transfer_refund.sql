-- RefundTransfer: give back part or all of a completed payment, from its
-- recipient (a merchant, or an association) to its payer. p: transfer_id (the
-- payment), from_account_id (the refunder: the server's reading of the
-- payment's recipient, which never changes), amount_cents, currency_code,
-- memo, initiated_by; refunder_kind, the kind of account the caller's role
-- refunds for (MERCHANT for a merchant's key, ASSOCIATION for the wallet);
-- code_hmac, the HMAC of the refunder's code, when the caller must give it
-- (the wallet: an association's code). Locks go: the accounts in id order,
-- then the payment (refunds_check). To a payer whose account closed, the
-- refund waits in escrow for the identity they paid from (refund_to_escrow);
-- a payer who paid from no identity cannot be refunded (ACCOUNT_CLOSED).
-- Answers {"transfer": the refund}, or {"error": ...} to be recorded (a wrong
-- code counted).
CREATE OR REPLACE FUNCTION transfer_refund(p jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    paid transfers;
    refunder accounts;
    refund_id uuid := gen_random_uuid();
    answer jsonb;
BEGIN
    SELECT * INTO paid FROM transfers WHERE transfer_id = (p->>'transfer_id')::uuid;
    PERFORM refuse(transfer_refundable_refusal(paid, p));
    PERFORM 1 FROM accounts a
     WHERE a.account_id IN (paid.from_account_id, paid.to_account_id)
        OR (paid.fee_cents > 0 AND a.system_purpose = 'FEE_REVENUE'
            AND a.currency_code = paid.currency_code)
        OR (a.system_purpose = 'ESCROW' AND a.currency_code = paid.currency_code
            AND refund_to_escrow(paid))
     ORDER BY a.account_id FOR NO KEY UPDATE;
    refunder := account_for(paid.to_account_id, false);
    IF p ? 'code_hmac' THEN  -- the refunder's own code, as for any money out
        PERFORM refuse(code_hold_refusal(refunder));
        answer := code_attempt(s, refunder, decode(p->>'code_hmac', 'hex'));
        IF answer IS NOT NULL THEN
            RETURN jsonb_build_object('error', answer);
        END IF;
    END IF;
    PERFORM refuse(refund_amount_refusal(paid, refunder, (p->>'amount_cents')::bigint));
    INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                           currency_code, amount_cents, memo, initiated_by, resolve_time,
                           refund_of, to_namespace, to_subject_id, to_handle,
                           claim_expire_time)
    SELECT refund_id, 'REFUND', CASE WHEN escrow THEN 'AWAITING_CLAIM' ELSE 'COMPLETED' END,
           paid.to_account_id, CASE WHEN escrow THEN e.account_id ELSE paid.from_account_id END,
           paid.currency_code, (p->>'amount_cents')::bigint, p->>'memo', p->>'initiated_by',
           now(), paid.transfer_id, CASE WHEN escrow THEN paid.from_namespace END,
           CASE WHEN escrow THEN paid.from_subject_id END,
           CASE WHEN escrow THEN paid.from_handle END,
           CASE WHEN escrow THEN now() + make_interval(secs => (s->>'claim_window_s')::int) END
      FROM refund_to_escrow(paid) escrow
      LEFT JOIN accounts e ON e.system_purpose = 'ESCROW' AND e.currency_code = paid.currency_code;
    -- Linked again already (to a new account of the payer's, say): claimed now.
    PERFORM identity_claim(s, paid.from_namespace, paid.from_subject_id, claimer)
       FROM identity_account_id(paid.from_namespace, paid.from_subject_id) claimer
      WHERE claimer IS NOT NULL AND refund_to_escrow(paid);
    RETURN jsonb_build_object('transfer', transfer_json(refund_id));
END $$;
