-- What keeps an account from closing, or NULL: a closed account never moves
-- money again, so it must hold nothing and wait for nothing (not even a
-- contribution an open collection's cancellation would pay back). The refusal's
-- metadata names each thing left (a count, or the balance in cents), and
-- "left" lists their names.
CREATE OR REPLACE FUNCTION account_close_refusal(a accounts) RETURNS jsonb
    LANGUAGE plpgsql STABLE AS $$
DECLARE
    left_over jsonb;
BEGIN
    SELECT jsonb_strip_nulls(jsonb_build_object(
        'balance_cents', nullif(account_balance_cents(a), 0)::text,
        'held_cents', nullif(a.held_cents, 0)::text,
        'pending_transfers_out', nullif((SELECT count(*) FROM transfers
            WHERE from_account_id = a.account_id AND state = 'PENDING_CONFIRMATION'), 0)::text,
        'pending_transfers_in', nullif((SELECT count(*) FROM transfers
            WHERE to_account_id = a.account_id AND state = 'PENDING_CONFIRMATION'), 0)::text,
        'transfers_awaiting_claim', nullif((SELECT count(*) FROM transfers
            WHERE from_account_id = a.account_id AND state = 'AWAITING_CLAIM'), 0)::text,
        'payouts_in_flight', nullif((SELECT count(*) FROM payouts
            WHERE account_id = a.account_id AND state = 'PENDING'), 0)::text,
        'pending_top_ups', nullif((SELECT count(*) FROM card_top_ups
            WHERE account_id = a.account_id AND state = 'PENDING'), 0)::text,
        'open_collections', nullif((SELECT count(*) FROM collections
            WHERE owner_account_id = a.account_id AND state = 'OPEN'), 0)::text,
        -- A cancellation pays these back, to this account.
        'contributions_to_open_collections', nullif((SELECT count(*) FROM transfers t
            JOIN collections c ON c.collection_id = t.collection_id AND c.state = 'OPEN'
            WHERE t.from_account_id = a.account_id AND t.kind = 'PAYMENT'
              AND t.state = 'COMPLETED'), 0)::text))
      INTO left_over;
    IF left_over = '{}' THEN
        RETURN NULL;
    END IF;
    RETURN refusal('ACCOUNT_NOT_EMPTY',
        'the account cannot close while it still has: '
            || (SELECT string_agg(k || ' ' || v, ', ' ORDER BY k)
                  FROM jsonb_each_text(left_over) AS e(k, v)),
        left_over || jsonb_build_object(
            'account_id', a.account_id::text,
            'left', (SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(left_over) k)));
END $$;
