-- The maximum balance of a tier, from the server's settings (s); 0: no limit.
CREATE OR REPLACE FUNCTION tier_max_balance_cents(s jsonb, tier text) RETURNS bigint
    LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN tier = 'VERIFIED' THEN (s->>'verified_max_balance_cents')::bigint
                ELSE (s->>'unverified_max_balance_cents')::bigint END
$$;
