-- The collection a payment names, by id or by hashtag (the open one with it,
-- else the latest that had it), if it takes payments now; its owner, who
-- must be verified (an association's papers may have been withdrawn since it
-- opened the collection), as the payment is capped like one to its owner.
CREATE OR REPLACE FUNCTION collection_for_payment(
    p_collection_id uuid, p_hashtag text,
    OUT collection_id uuid, OUT currency_code text, OUT owner_kind text
) LANGUAGE plpgsql STABLE AS $$
DECLARE
    c record;
    found_id uuid;
BEGIN
    found_id := p_collection_id;
    IF found_id IS NULL THEN
        SELECT k.collection_id INTO found_id FROM collections k
         WHERE lower(k.hashtag) = lower(p_hashtag)
         ORDER BY k.state = 'OPEN' DESC, k.create_time DESC LIMIT 1;
    END IF;
    SELECT k.collection_id, k.state, a.currency_code, o.account_id AS owner_id,
           o.kind AS owner_kind, o.profile_verify_time,
           (k.state = 'OPEN' AND (k.deadline_time IS NULL OR k.deadline_time > now())) AS open,
           (k.deadline_time IS NOT NULL AND k.deadline_time <= now()) AS deadline_passed
      INTO c
      FROM collections k
      JOIN accounts a ON a.account_id = k.collection_id
      JOIN accounts o ON o.account_id = k.owner_account_id
     WHERE k.collection_id = found_id;
    IF NOT FOUND THEN
        PERFORM refuse(refusal('COLLECTION_NOT_FOUND', 'no such collection',
            CASE WHEN p_collection_id IS NOT NULL
                 THEN jsonb_build_object('collection_id', p_collection_id::text)
                 ELSE jsonb_build_object('hashtag', p_hashtag) END));
    END IF;
    IF NOT c.open THEN
        PERFORM refuse(collection_not_open_refusal(c.collection_id, c.state, c.deadline_passed));
    END IF;
    PERFORM refuse(recipient_verified_refusal(c.owner_id, c.owner_kind, c.profile_verify_time));
    collection_id := c.collection_id;
    currency_code := c.currency_code;
    owner_kind := c.owner_kind;
END $$;
