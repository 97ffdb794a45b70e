-- Surveillance state merged by several replicas (subjects.Sync, and
-- subjects_merge.go). Every write of a row stamps it with the id of the
-- writing transaction, whichever statement writes it, so that a replica
-- can read what the others wrote since it last looked: rows whose version
-- is at least the oldest transaction still running when it last read
-- (pg_snapshot_xmin), which catches transactions that committed later
-- than others with higher ids.
ALTER TABLE subject_state ADD COLUMN version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION subject_state_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	NEW.version := pg_current_xact_id()::text::bigint;
	RETURN NEW;
END
$$;

CREATE TRIGGER subject_state_stamp BEFORE INSERT OR UPDATE ON subject_state
	FOR EACH ROW EXECUTE FUNCTION subject_state_stamp();

CREATE INDEX subject_state_version ON subject_state (version);
