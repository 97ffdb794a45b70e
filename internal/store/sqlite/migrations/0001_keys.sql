-- API keys, one principal per key (the principal's ID is the key's ID).
-- Times are Unix microseconds, UTC.
CREATE TABLE keys (
	seq          INTEGER PRIMARY KEY,       -- creation (insertion) order
	id           TEXT    NOT NULL UNIQUE,
	hash         BLOB    NOT NULL UNIQUE CHECK (length(hash) = 32), -- SHA-256 of the plaintext
	prefix       TEXT    NOT NULL,
	name         TEXT    NOT NULL,
	org          TEXT    NOT NULL,
	purpose      TEXT    NOT NULL,
	roles        TEXT    NOT NULL CHECK (json_valid(roles) AND json_type(roles) = 'array'),
	created_at   INTEGER NOT NULL,
	revoked_at   INTEGER,
	last_used_at INTEGER
) STRICT;
