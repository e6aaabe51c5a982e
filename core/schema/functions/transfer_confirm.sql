-- ConfirmTransfer: post a pending transfer if the code is its sender's. p:
-- transfer_id, from_account_id (the server's reading of the transfer, which
-- never changes, so that it could compute code_hmac, the HMAC of the typed
-- code for that account: the key never reaches the database). Both parties
-- are locked in id order, except a recipient that takes credits deferred:
-- donations to one association must not queue on its row. Paid to an
-- identity nobody had linked: into escrow (AWAITING_CLAIM), then straight to
-- its account if it was linked meanwhile. Answers {"transfer": ...}, or
-- {"error": ...} to be recorded (a wrong code counted, the transfer expired,
-- its collection no longer open).
CREATE OR REPLACE FUNCTION transfer_confirm(p jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    locked record := transfer_locked((p->>'transfer_id')::uuid);
    t transfers := locked.t;
    payer accounts;
    recipient accounts;
    answer jsonb := CASE WHEN locked.expired IS NOT NULL
                         THEN locked.expired
                         WHEN t.collection_id IS NOT NULL
                         THEN collection_contribution_refusal(t) END;
BEGIN
    IF answer IS NOT NULL THEN
        RETURN jsonb_build_object('error', answer);
    END IF;
    IF t.from_account_id IS DISTINCT FROM (p->>'from_account_id')::uuid THEN
        RAISE EXCEPTION 'the code was computed for another account than transfer %''s',
            t.transfer_id;
    END IF;
    PERFORM 1 FROM accounts
     WHERE account_id IN (t.from_account_id, t.to_account_id)
       AND (account_id = t.from_account_id OR NOT credits_deferred)
     ORDER BY account_id FOR NO KEY UPDATE;
    SELECT * INTO payer FROM accounts WHERE account_id = t.from_account_id;
    payer.balance_cents := account_balance_cents(payer);
    SELECT * INTO recipient FROM accounts WHERE account_id = t.to_account_id;
    recipient.balance_cents := account_balance_cents(recipient);
    PERFORM refuse(code_hold_refusal(payer));
    answer := code_attempt(s, payer, decode(p->>'code_hmac', 'hex'));
    IF answer IS NOT NULL THEN
        RETURN jsonb_build_object('error', answer);
    END IF;
    PERFORM refuse(transfer_payable_refusal(s, t, payer, recipient));
    IF t.to_subject_id IS NULL OR recipient.kind <> 'SYSTEM' THEN
        UPDATE transfers SET state = 'COMPLETED', resolve_time = now()
         WHERE transfer_id = t.transfer_id;
    ELSE
        UPDATE transfers SET state = 'AWAITING_CLAIM', resolve_time = now(),
               claim_expire_time = now() + make_interval(secs => (s->>'claim_window_s')::int)
         WHERE transfer_id = t.transfer_id;
        PERFORM identity_claim(s, t.to_namespace, t.to_subject_id, claimer)
           FROM identity_account_id(t.to_namespace, t.to_subject_id) claimer
          WHERE claimer IS NOT NULL;
    END IF;
    RETURN jsonb_build_object('transfer', transfer_json(t.transfer_id));
END $$;
