-- Whom a payment is to, as its checks see it: the account credited (the
-- recipient's, escrow's for an identity nobody has linked yet, or a
-- collection's), the kind it is capped as (escrow as a person, a collection
-- as its owner), its currency, and the recipient's row (NULL for escrow or a
-- collection: neither has a maximum balance).
CREATE OR REPLACE FUNCTION payment_payee(
    p_to_account_id uuid, p_currency_code text, p_collection_id uuid, p_hashtag text,
    OUT account_id uuid, OUT kind text, OUT currency_code text, OUT account accounts,
    OUT collection_id uuid
) LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF p_collection_id IS NOT NULL OR p_hashtag IS NOT NULL THEN
        SELECT c.collection_id, c.owner_kind, c.currency_code
          INTO account_id, kind, currency_code
          FROM collection_for_payment(p_collection_id, p_hashtag) c;
        collection_id := account_id;
    ELSIF p_to_account_id IS NULL THEN
        SELECT a.account_id, 'PERSON', a.currency_code INTO account_id, kind, currency_code
          FROM accounts a WHERE a.system_purpose = 'ESCROW' AND a.currency_code = p_currency_code;
    ELSE
        account := account_for(p_to_account_id, false);
        account_id := account.account_id;
        kind := account.kind;
        currency_code := account.currency_code;
    END IF;
END $$;
