-- InitiateTransfer: check a payment and hold its amount on the sender
-- (PENDING_CONFIRMATION; transfers_apply writes the hold and the event). The
-- sender is an account, or the identity that posted, which must be linked;
-- the recipient an account, an identity (escrow when nobody has linked it)
-- or a collection. p: the request as core/api/transfer_service.py builds it,
-- with money_refusals, the caller's refusal for each kind of account whose
-- money it may not move (its role's rule, core/auth/access.py). The sender's
-- row lock serializes its payments: no two pass a limit or spend the same
-- money together. Answers {"transfer": ...}.
CREATE OR REPLACE FUNCTION transfer_initiate(p jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    from_id uuid := (p->>'from_account_id')::uuid;
    to_id uuid := (p->>'to_account_id')::uuid;
    amount_cents bigint := (p->>'amount_cents')::bigint;
    currency text := p->>'currency_code';
    earlier jsonb := channel_message_transfer(p);
    payee record;
    sender accounts;
    new_id uuid := gen_random_uuid();
BEGIN
    IF earlier IS NOT NULL THEN
        RETURN earlier;
    END IF;
    IF p ? 'from_identity' THEN
        from_id := identity_account_id(p->'from_identity'->>'namespace',
                                       p->'from_identity'->>'subject_id');
        IF from_id IS NULL THEN
            PERFORM refuse(refusal('IDENTITY_NOT_LINKED',
                'the sender''s identity is not linked to an envoi account',
                jsonb_build_object('namespace', p->'from_identity'->>'namespace',
                                   'subject_id', p->'from_identity'->>'subject_id')));
        END IF;
    END IF;
    IF p ? 'to_identity' THEN
        to_id := identity_account_id(p->'to_identity'->>'namespace',
                                     p->'to_identity'->>'subject_id');
    END IF;
    payee := payment_payee(to_id, currency, (p->>'to_collection_id')::uuid,
                           p->>'to_collection_hashtag');
    IF from_id = coalesce(payee.collection_id, to_id) THEN
        PERFORM refuse(refusal('SELF_TRANSFER', 'an account cannot pay itself', '{}',
                               '{"to_account_id": "same as the sender"}'));
    END IF;
    sender := account_for(from_id, true);
    PERFORM refuse(refusal('PERMISSION_DENIED', p->'money_refusals'->>sender.kind))
      WHERE p->'money_refusals' ? sender.kind;
    PERFORM refuse(payment_refusal(s, sender, payee, amount_cents, currency, p->>'initiated_by'));
    INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
        currency_code, amount_cents, memo, initiated_by, expire_time, from_namespace,
        from_subject_id, from_handle, to_namespace, to_subject_id, to_handle,
        channel_reference, collection_id)
    VALUES (new_id, 'PAYMENT', 'PENDING_CONFIRMATION', from_id, payee.account_id, currency,
        amount_cents, p->>'memo', p->>'initiated_by',
        now() + make_interval(secs => (s->>'confirmation_timeout_s')::int),
        p->'from_identity'->>'namespace', p->'from_identity'->>'subject_id',
        p->'from_identity'->>'handle', p->'to_identity'->>'namespace',
        p->'to_identity'->>'subject_id', p->'to_identity'->>'handle',
        p->>'channel_reference', payee.collection_id);
    RETURN jsonb_build_object('transfer', transfer_json(new_id));
END $$;
