-- The most an account may hold (its tier's maximum balance), or NULL when
-- nothing limits it: an account that collects (credits deferred: an
-- association), since checking would lock its row for every donation; a
-- settlement account (envoi's own clearing money); a tier without one (0).
CREATE OR REPLACE FUNCTION account_max_balance_cents(s jsonb, a accounts) RETURNS bigint
    LANGUAGE plpgsql STABLE AS $$
BEGIN
    IF a.credits_deferred OR a.kind = 'SETTLEMENT' THEN
        RETURN NULL;
    END IF;
    RETURN nullif(CASE WHEN a.tier = 'VERIFIED' THEN (s->>'verified_max_balance_cents')::bigint
                       ELSE (s->>'unverified_max_balance_cents')::bigint END, 0);
END $$;
