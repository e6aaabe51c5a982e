-- The fee of a payment of amount_cents at a rate; integers only, half up.
CREATE OR REPLACE FUNCTION merchant_fee_cents(amount_cents bigint, basis_points integer, fixed_cents bigint)
    RETURNS bigint LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT fixed_cents + div(amount_cents::numeric * basis_points + 5000, 10000)::bigint
$$;
