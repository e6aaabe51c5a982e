-- One call of a ledger operation (p->>'op': transfer_initiate,
-- transfer_confirm, transfer_cancel, transfer_refund), applied at most once
-- per request id (AIP-155): the request id and the answer are written with the effect. A
-- retry gets the first answer, a reuse with another request is refused. A
-- refusal rolls the operation back (this block is a subtransaction: a
-- failing call never fails its neighbours in a batch) and is not recorded,
-- unless the operation answered it as an error to record. Answers the
-- operation's answer, with "replayed" when it is a stored one, or
-- {"retry": true} when a concurrent copy of the request (or of the channel
-- message) committed first, or it lost a deadlock: calling again gets its
-- answer. An unexpected error fails the call alone: {"failed": {sqlstate,
-- message, constraint}}.
CREATE OR REPLACE FUNCTION ledger_call(p jsonb, s jsonb) RETURNS jsonb
    LANGUAGE plpgsql AS $$
DECLARE
    answer jsonb := stored_answer(p);
    constraint_name text;
BEGIN
    IF answer IS NOT NULL THEN
        RETURN answer;
    END IF;
    BEGIN
        answer := CASE p->>'op'
                      WHEN 'transfer_initiate' THEN transfer_initiate(p, s)
                      WHEN 'transfer_confirm' THEN transfer_confirm(p, s)
                      WHEN 'transfer_cancel' THEN transfer_cancel(p, s)
                      WHEN 'transfer_refund' THEN transfer_refund(p, s) END;
        IF answer IS NULL THEN
            RAISE EXCEPTION 'no ledger operation %', p->>'op';
        END IF;
        INSERT INTO idempotency_keys (principal, request_id, method, request_hmac, answer)
        VALUES (p->>'principal', p->>'request_id', p->>'method',
                decode(p->>'request_hmac', 'hex'), answer - 'replayed');
        RETURN answer;
    EXCEPTION
        WHEN SQLSTATE 'EV000' THEN
            GET STACKED DIAGNOSTICS answer = PG_EXCEPTION_DETAIL;
            -- A copy that committed meanwhile made this one fail: its answer wins.
            RETURN coalesce(stored_answer(p), jsonb_build_object('error', answer::jsonb));
        WHEN check_violation THEN
            GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
            IF constraint_name = 'balance_above_floor' THEN
                -- The database's own floor check: the last word on overdrafts.
                RETURN jsonb_build_object('error',
                    refusal('INSUFFICIENT_FUNDS', 'the sender''s available balance is too low'));
            END IF;
            RETURN jsonb_build_object('failed', jsonb_build_object('sqlstate', SQLSTATE,
                'message', SQLERRM, 'constraint', constraint_name));
        WHEN unique_violation THEN
            GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
            IF constraint_name IN ('idempotency_keys_pkey', 'transfers_channel_reference') THEN
                RETURN '{"retry": true}';
            END IF;
            RETURN jsonb_build_object('failed', jsonb_build_object('sqlstate', SQLSTATE,
                'message', SQLERRM, 'constraint', constraint_name));
        WHEN deadlock_detected OR serialization_failure THEN
            RETURN '{"retry": true}';  -- this call only, in a later transaction
        WHEN OTHERS THEN
            -- Unexpected (a bug, or a trigger's last word): this call fails alone.
            GET STACKED DIAGNOSTICS constraint_name = CONSTRAINT_NAME;
            RETURN jsonb_build_object('failed', jsonb_build_object('sqlstate', SQLSTATE,
                'message', SQLERRM, 'constraint', constraint_name));
    END;
END $$;
