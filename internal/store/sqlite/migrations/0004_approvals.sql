-- Tool calls held for human approval (see internal/approval). Times are
-- Unix microseconds, UTC.
CREATE TABLE approvals (
	id           TEXT PRIMARY KEY,
	request_id   TEXT    NOT NULL,
	principal_id TEXT    NOT NULL,
	tool         TEXT    NOT NULL,
	arguments    TEXT    NOT NULL CHECK (json_valid(arguments)),
	args_digest  TEXT    NOT NULL,
	status       TEXT    NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
	record       TEXT    NOT NULL CHECK (json_valid(record)),
	created_at   INTEGER NOT NULL,
	expires_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX approvals_status ON approvals (status, expires_at);
CREATE INDEX approvals_digest ON approvals (principal_id, args_digest);
