-- The collection of a transfer never changes; a contribution completes only
-- while its collection takes payments (the service checks first, with the
-- same lock: this is the last word).
CREATE OR REPLACE FUNCTION collection_transfers_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c collections;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.collection_id IS DISTINCT FROM OLD.collection_id THEN
        RAISE EXCEPTION 'the collection of a transfer never changes'
            USING ERRCODE = 'restrict_violation';
    END IF;
    IF NEW.kind = 'PAYMENT' AND NEW.state = 'COMPLETED' THEN
        SELECT * INTO c FROM collections WHERE collection_id = NEW.collection_id FOR KEY SHARE;
        IF c.state <> 'OPEN' OR c.deadline_time <= now() THEN
            RAISE EXCEPTION 'collection % takes no payments', NEW.collection_id
                USING ERRCODE = 'check_violation', CONSTRAINT = 'collection_open';
        END IF;
    END IF;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER collection_transfers_check BEFORE INSERT OR UPDATE ON transfers
    FOR EACH ROW WHEN (NEW.collection_id IS NOT NULL)
    EXECUTE FUNCTION collection_transfers_check();
CREATE OR REPLACE TRIGGER collection_transfers_fixed BEFORE UPDATE ON transfers
    FOR EACH ROW WHEN (OLD.collection_id IS DISTINCT FROM NEW.collection_id)
    EXECUTE FUNCTION collection_transfers_check();
