-- The same rule as 0012's fr_registration_number_valid, in PL/pgSQL. As a
-- SQL-language function, PostgreSQL inlined it (parsing its body again) each
-- time a statement checked the accounts table's constraints, even when
-- registration_number is NULL: about a sixth of the database's CPU in a
-- transfer, whose triggers update accounts rows three or four times. A
-- PL/pgSQL function is not inlined, and is called only for a number to check.
CREATE OR REPLACE FUNCTION fr_registration_number_valid(number text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    RETURN number ~ '^([0-9]{9}|[0-9]{14})$' AND (
        -- Luhn: from the right, every second digit doubled (its digits summed).
        (SELECT sum(CASE WHEN i % 2 = 0 THEN (2 * d) / 10 + (2 * d) % 10 ELSE d END) % 10 = 0
           FROM (SELECT i, substr(reverse(number), i, 1)::int AS d
                   FROM generate_series(1, length(number)) i) digits)
        -- La Poste's establishments (SIREN 356000000) number their SIRETs
        -- with a digit sum divisible by 5 instead.
        OR (length(number) = 14 AND left(number, 9) = '356000000'
            AND (SELECT sum(substr(number, i, 1)::int) % 5 = 0
                   FROM generate_series(1, 14) i)));
END $$;
