-- The one rule on frozen and closed accounts, asked wherever money moves (the
-- triggers account_status_*_check): no money in or out of a closed account,
-- no money out of a frozen one (money_out). The row is read under FOR KEY
-- SHARE, which waits for a freeze or a close in flight (they lock it FOR
-- UPDATE) and then reads what it committed, and which a freeze or a close
-- waits for in turn: either this money moves before, or it is refused after.
-- envoi's own accounts are never frozen nor closed, and are not locked here.
CREATE OR REPLACE FUNCTION account_status_refusal(p_account_id uuid, money_out boolean)
    RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a record;
BEGIN
    SELECT account_id, freeze_time, freeze_reason, close_time INTO a FROM accounts
     WHERE account_id = p_account_id AND kind <> 'SYSTEM' FOR KEY SHARE;
    IF a.close_time IS NOT NULL THEN
        RETURN refusal('ACCOUNT_CLOSED', 'the account is closed: no money goes in or out',
            jsonb_build_object('account_id', a.account_id::text,
                               'close_time', iso_utc(a.close_time)));
    END IF;
    IF money_out AND a.freeze_time IS NOT NULL THEN
        RETURN refusal('ACCOUNT_FROZEN',
            'an admin froze the account: no money leaves it until it is unfrozen',
            jsonb_build_object('account_id', a.account_id::text,
                               'freeze_time', iso_utc(a.freeze_time)));
    END IF;
    RETURN NULL;
END $$;
