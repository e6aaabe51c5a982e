-- The limits on one payment, in the order their errors are reported: the cap
-- per transfer by the kind of recipient (people and escrow, which stands for
-- one; or organisations), the sender's daily cap over any 24 hours, its
-- tier's monthly outgoing limit, and the recipient's maximum balance (r is
-- NULL for escrow or a collection: neither has one). The sender's row is
-- locked, so concurrent requests cannot pass a limit together.
CREATE OR REPLACE FUNCTION payment_caps_refusal(
    s jsonb, sender accounts, p_recipient_kind text, r accounts, p_amount_cents bigint
) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
DECLARE
    cap jsonb := per_transfer_cap_refusal(s, p_recipient_kind, p_amount_cents);
    daily_cents bigint := (s->>'daily_cap_cents')::bigint;
    spent_cents bigint;
BEGIN
    IF cap IS NOT NULL THEN
        RETURN cap;
    END IF;
    IF daily_cents > 0 THEN
        spent_cents := payments_sent_cents(sender.account_id, interval '24 hours');
        IF spent_cents + p_amount_cents > daily_cents THEN
            RETURN refusal('LIMIT_EXCEEDED',
                format('this would take the sender over its daily cap of %s cents', daily_cents),
                jsonb_build_object('limit', 'DAILY', 'limit_cents', daily_cents::text,
                                   'remaining_cents',
                                   greatest(daily_cents - spent_cents, 0)::text));
        END IF;
    END IF;
    RETURN coalesce(monthly_outgoing_refusal(s, sender, p_amount_cents),
                    CASE WHEN r.account_id IS NOT NULL
                         THEN max_balance_refusal(s, r, p_amount_cents) END);
END $$;
