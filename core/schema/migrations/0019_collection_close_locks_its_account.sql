-- Closing a collection paid its owner less than it collected when a fold of
-- the collection's deferred credits (maintenance) committed between the
-- trigger's read of the account row and its read of the credits left to fold:
-- the folded credits were in neither (tests/test_collection_concurrency.py,
-- which closes while a thread keeps folding, caught it once in a loaded run).
-- The function of 0011, with the account's row locked before it is read.
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
                               resolve_time, collection_id)
        SELECT gen_random_uuid(), 'COLLECTION_REFUND', 'COMPLETED', NEW.collection_id,
               t.from_account_id, t.currency_code, t.amount_cents,
               'Refund: collection #' || NEW.hashtag || ' was cancelled', NEW.resolved_by,
               now(), NEW.collection_id
          FROM transfers t
         WHERE t.collection_id = NEW.collection_id AND t.kind = 'PAYMENT'
           AND t.state = 'COMPLETED'
         ORDER BY t.from_account_id, t.seq;
    END IF;
    INSERT INTO outbox_events (event_type, collection_id)
    VALUES ('COLLECTION_' || NEW.state, NEW.collection_id);
    RETURN NULL;
END $$;
