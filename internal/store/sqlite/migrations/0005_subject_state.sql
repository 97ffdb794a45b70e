-- The surveillance safeguard's per-principal state (see internal/subjects):
-- the distinct-subject window sketches and the profile breadths, each as
-- the subjects package encodes it. Only HMAC subject keys are in it, never
-- identifiers. Times are Unix microseconds, UTC.
CREATE TABLE subject_state (
	principal_id TEXT    NOT NULL,
	kind         TEXT    NOT NULL CHECK (kind IN ('windows', 'profiles')),
	data         BLOB    NOT NULL,
	updated_at   INTEGER NOT NULL,
	PRIMARY KEY (principal_id, kind)
) STRICT;
