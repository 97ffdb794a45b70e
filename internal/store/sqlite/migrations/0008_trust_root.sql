-- The trust root: the set of keys (and how many of them) whose signatures a
-- policy bundle needs. The first signed activation pins it; from then on it
-- changes only through a rotation signed by a threshold of the set before.
-- The newest row is the trust root in force. Times are Unix microseconds.
CREATE TABLE trust_roots (
	seq       INTEGER PRIMARY KEY,
	hash      TEXT    NOT NULL UNIQUE,
	keys      TEXT    NOT NULL CHECK (json_valid(keys) AND json_type(keys) = 'array'),
	threshold INTEGER NOT NULL CHECK (threshold > 0),
	rotation  TEXT    NOT NULL DEFAULT '', -- the signed rotation note; '' for the first pin
	pinned_at INTEGER NOT NULL
) STRICT;

-- The policy activations that were not signed (the embedded default, or an
-- unsigned file), so that a store knows it has been used without a trust
-- root, and the trust set each signed activation was checked against.
ALTER TABLE policy_activations ADD COLUMN trust_hash TEXT NOT NULL DEFAULT '';
