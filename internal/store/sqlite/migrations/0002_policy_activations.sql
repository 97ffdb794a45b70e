-- Policy bundles that were activated, in order. The highest version is the
-- active one; versions only ever increase (rollback protection survives
-- restarts). Times are Unix microseconds, UTC.
CREATE TABLE policy_activations (
	seq          INTEGER PRIMARY KEY,
	version      INTEGER NOT NULL UNIQUE CHECK (version > 0),
	hash         TEXT    NOT NULL,
	signers      TEXT    NOT NULL CHECK (json_valid(signers) AND json_type(signers) = 'array'),
	activated_at INTEGER NOT NULL
) STRICT;
