-- OPEN -> CLOSED | CANCELLED, once; nothing else changes.
CREATE OR REPLACE FUNCTION collections_check() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.state <> 'OPEN' THEN
            RAISE EXCEPTION 'a collection starts open' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
    END IF;
    IF OLD.state <> 'OPEN' OR NEW.state NOT IN ('CLOSED', 'CANCELLED') THEN
        RAISE EXCEPTION 'collection % cannot go from % to %', OLD.collection_id, OLD.state,
            NEW.state USING ERRCODE = 'restrict_violation';
    END IF;
    IF (NEW.collection_id, NEW.seq, NEW.owner_account_id, NEW.title, NEW.hashtag,
        NEW.target_cents, NEW.deadline_time, NEW.initiated_by, NEW.create_time)
       IS DISTINCT FROM
       (OLD.collection_id, OLD.seq, OLD.owner_account_id, OLD.title, OLD.hashtag,
        OLD.target_cents, OLD.deadline_time, OLD.initiated_by, OLD.create_time) THEN
        RAISE EXCEPTION 'a collection may only change its state'
            USING ERRCODE = 'restrict_violation';
    END IF;
    -- An UPDATE takes only FOR NO KEY UPDATE, which lets contributions take
    -- their FOR KEY SHARE: wait here for those completing now, and keep out
    -- the later ones, before the balance is read.
    PERFORM 1 FROM collections WHERE collection_id = NEW.collection_id FOR UPDATE;
    RETURN NEW;
END $$;
CREATE OR REPLACE TRIGGER collections_check BEFORE INSERT OR UPDATE ON collections
    FOR EACH ROW EXECUTE FUNCTION collections_check();
