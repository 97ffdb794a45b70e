-- Tool calls held for human approval (see internal/approval). Times are
-- Unix microseconds, UTC. status, decided_at, consumed_at and votes are the
-- only columns that change after insertion.
CREATE TABLE approvals (
	seq            INTEGER PRIMARY KEY,  -- creation (insertion) order
	id             TEXT    NOT NULL UNIQUE,
	request_id     TEXT    NOT NULL,
	principal_id   TEXT    NOT NULL,
	principal      TEXT    NOT NULL CHECK (json_valid(principal)),
	tool           TEXT    NOT NULL,
	class          TEXT    NOT NULL,
	arguments      TEXT    NOT NULL CHECK (json_valid(arguments) AND json_type(arguments) = 'object'),
	args_digest    TEXT    NOT NULL,
	policy_version INTEGER NOT NULL,
	rule           TEXT    NOT NULL,
	require_role   TEXT    NOT NULL,
	require_count  INTEGER NOT NULL CHECK (require_count >= 1),
	excerpt        TEXT    NOT NULL,
	status         TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
	votes          TEXT    NOT NULL CHECK (json_valid(votes) AND json_type(votes) = 'array'),
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	decided_at     INTEGER,
	consumed_at    INTEGER
) STRICT;
CREATE INDEX approvals_status ON approvals (status, expires_at);
CREATE INDEX approvals_digest ON approvals (principal_id, args_digest);
