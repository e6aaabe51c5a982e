-- A time as Python's datetime.isoformat() writes it in UTC (no fraction when
-- it has no microseconds), for messages and metadata.
CREATE OR REPLACE FUNCTION iso_utc(t timestamptz) RETURNS text LANGUAGE plpgsql STABLE AS $$
BEGIN
    RETURN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
        || CASE WHEN date_part('microseconds', t)::bigint % 1000000 = 0 THEN ''
                ELSE to_char(t AT TIME ZONE 'UTC', '.US') END
        || '+00:00';
END $$;
