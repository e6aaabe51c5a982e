-- FreezeAccount, UnfreezeAccount, CloseAccount: lock the account FOR UPDATE
-- (which waits for every transaction moving its money, and makes every later
-- one wait: account_status_refusal), check the change is possible, record it
-- (change_time read after the lock: no money moved by this account's rules
-- is dated after it), apply it and write the owner's event. A close unlinks
-- the account's identities: money paid to them from now on waits in escrow.
-- Answers the change's row as JSON, or raises the refusal.
CREATE OR REPLACE FUNCTION account_status_change(
    p_account_id uuid, p_change text, p_reason text, p_principal text, p_token_id text
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    a accounts;
    change account_status_changes;
BEGIN
    SELECT * INTO a FROM accounts WHERE account_id = p_account_id FOR UPDATE;
    PERFORM refuse(account_status_refusal(a.account_id, false));
    IF p_change = 'FROZEN' AND a.freeze_time IS NOT NULL THEN
        PERFORM refuse(account_status_refusal(a.account_id, true));
    ELSIF p_change = 'UNFROZEN' AND a.freeze_time IS NULL THEN
        PERFORM refuse(refusal('ACCOUNT_NOT_FROZEN', 'the account is not frozen',
                               jsonb_build_object('account_id', a.account_id::text)));
    ELSIF p_change = 'CLOSED' THEN  -- not to escape a freeze: unfrozen first
        PERFORM refuse(account_status_refusal(a.account_id, true));
        PERFORM refuse(account_close_refusal(a));
    END IF;
    INSERT INTO account_status_changes (account_status_change_id, account_id, change, reason,
        changed_by_principal, changed_by_token_id, change_time)
    VALUES (gen_random_uuid(), a.account_id, p_change, p_reason, p_principal, p_token_id,
            clock_timestamp())
    RETURNING * INTO change;
    UPDATE accounts
       SET freeze_time = CASE p_change WHEN 'FROZEN' THEN change.change_time
                                       WHEN 'UNFROZEN' THEN NULL ELSE freeze_time END,
           freeze_reason = CASE p_change WHEN 'FROZEN' THEN change.reason
                                         WHEN 'UNFROZEN' THEN NULL ELSE freeze_reason END,
           close_time = CASE p_change WHEN 'CLOSED' THEN change.change_time ELSE close_time END
     WHERE account_id = a.account_id;
    IF p_change = 'CLOSED' THEN
        DELETE FROM identities WHERE account_id = a.account_id;
    END IF;
    INSERT INTO outbox_events (event_type, account_status_change_id)
    VALUES ('ACCOUNT_' || p_change, change.account_status_change_id);
    RETURN to_jsonb(change);
END $$;
