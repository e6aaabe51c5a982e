-- Before a batch's calls run: lock every account they will lock, in
-- account_id order, so that two batches in flight at once never wait on each
-- other in a circle (calls then lock again what they hold). The accounts
-- are the senders (of initiations, as their identities resolve now, and of
-- the transfers confirmed or cancelled) and the recipients of confirmed
-- transfers, except one that takes credits deferred: donations to one
-- association never queue on its row. A refund's call names its refunder;
-- its payer and, when the payment bore a fee, the fee revenue account too,
-- and escrow when the payer's account closed (looked up only in a batch that
-- holds a refund: the payments' path pays nothing for them).
CREATE OR REPLACE FUNCTION ledger_calls_lock(calls jsonb) RETURNS void
    LANGUAGE plpgsql AS $$
DECLARE
    account_ids uuid[];
BEGIN
    SELECT array_agg(locked.account_id) INTO account_ids FROM (
        SELECT coalesce((c->>'from_account_id')::uuid,
                        identity_account_id(c->'from_identity'->>'namespace',
                                            c->'from_identity'->>'subject_id')) AS account_id
          FROM jsonb_array_elements(calls) c
        UNION ALL
        SELECT r.account_id FROM jsonb_array_elements(calls) c
          JOIN transfers t ON t.transfer_id = (c->>'transfer_id')::uuid
          JOIN accounts r ON r.account_id = t.to_account_id
         WHERE c->>'op' = 'transfer_confirm' AND NOT r.credits_deferred) locked;
    IF calls @> '[{"op": "transfer_refund"}]' THEN
        account_ids := account_ids || ARRAY(
            SELECT unnest(ARRAY[t.from_account_id, f.account_id, e.account_id])
              FROM jsonb_array_elements(calls) c
              JOIN transfers t ON t.transfer_id = (c->>'transfer_id')::uuid
              LEFT JOIN accounts f ON f.system_purpose = 'FEE_REVENUE'
                                  AND f.currency_code = t.currency_code AND t.fee_cents > 0
              LEFT JOIN accounts e ON e.system_purpose = 'ESCROW'
                                  AND e.currency_code = t.currency_code AND refund_to_escrow(t)
             WHERE c->>'op' = 'transfer_refund');
    END IF;
    PERFORM 1 FROM accounts WHERE account_id = ANY(account_ids)
     ORDER BY account_id FOR NO KEY UPDATE;
END $$;
