-- Closing pays the whole balance to the owner; cancelling pays each
-- completed contribution back to its payer, a REFUND naming it (refunds_check
-- has the last word, as for merchants' refunds). The triggers on transfers do the
-- bookkeeping of each transfer (postings, balances, folding the deferred
-- credits before the debit, the floor CHECK, a TRANSFER_COMPLETED event).
-- The account's row is locked before it is read: a fold of the collection's
-- deferred credits (maintenance) committing between the read of the account
-- row and the read of the credits left to fold paid the owner less than it
-- collected (tests/test_collection_concurrency.py caught it once, migration 0019).
CREATE OR REPLACE FUNCTION collections_apply() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    balance_cents bigint;
    a accounts;
BEGIN
    IF TG_OP = 'INSERT' THEN
        RETURN NULL;
    END IF;
    -- Locked, so that no fold of its deferred credits commits between this
    -- read of balance_cents and the read of the credits left to fold.
    SELECT * INTO a FROM accounts WHERE account_id = NEW.collection_id FOR NO KEY UPDATE;
    IF NEW.state = 'CLOSED' THEN
        balance_cents := account_balance_cents(a);
        IF balance_cents > 0 THEN
            INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                                   currency_code, amount_cents, memo, initiated_by,
                                   resolve_time, collection_id)
            VALUES (gen_random_uuid(), 'COLLECTION_PAYOUT', 'COMPLETED', NEW.collection_id,
                    NEW.owner_account_id, a.currency_code, balance_cents,
                    'Collection #' || NEW.hashtag, NEW.resolved_by, now(), NEW.collection_id);
        END IF;
    ELSE
        INSERT INTO transfers (transfer_id, kind, state, from_account_id, to_account_id,
                               currency_code, amount_cents, memo, initiated_by,
                               resolve_time, collection_id, refund_of)
        SELECT gen_random_uuid(), 'REFUND', 'COMPLETED', NEW.collection_id,
               t.from_account_id, t.currency_code, t.amount_cents,
               'Refund: collection #' || NEW.hashtag || ' was cancelled', NEW.resolved_by,
               now(), NEW.collection_id, t.transfer_id
          FROM transfers t
         WHERE t.collection_id = NEW.collection_id AND t.kind = 'PAYMENT'
           AND t.state = 'COMPLETED'
         ORDER BY t.from_account_id, t.seq;
    END IF;
    INSERT INTO outbox_events (event_type, collection_id)
    VALUES ('COLLECTION_' || NEW.state, NEW.collection_id);
    RETURN NULL;
END $$;
CREATE OR REPLACE TRIGGER collections_apply AFTER UPDATE ON collections
    FOR EACH ROW EXECUTE FUNCTION collections_apply();
