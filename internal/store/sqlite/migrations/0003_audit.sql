-- The audit log's local side (see internal/auditlog). The log itself lives in
-- Tessera's tiles; these tables let the operator find a request's entries
-- and open its content commitment for an auditor. Times are Unix
-- microseconds, UTC.
CREATE TABLE audit_index (
	request_id TEXT    NOT NULL,
	log_index  INTEGER NOT NULL UNIQUE CHECK (log_index >= 0),
	stage      TEXT    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_index_request ON audit_index (request_id);

CREATE TABLE audit_commitments (
	request_id TEXT PRIMARY KEY,
	salt       BLOB    NOT NULL,
	body       BLOB    NOT NULL,
	created_at INTEGER NOT NULL
) STRICT;
