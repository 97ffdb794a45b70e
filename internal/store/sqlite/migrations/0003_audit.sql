-- The audit log's local side (see internal/auditlog). The log itself lives in
-- Tessera's tiles; this table lets the operator find a request's entries and
-- open an entry's content commitment for an auditor. One row per log entry.
-- salt and body are NULL when the entry carries no commitment. Times are
-- Unix microseconds, UTC.
CREATE TABLE audit_index (
	log_index  INTEGER PRIMARY KEY CHECK (log_index >= 0),
	request_id TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	stage      TEXT    NOT NULL,
	salt       BLOB,
	body       BLOB,
	created_at INTEGER NOT NULL,
	CHECK ((salt IS NULL) = (body IS NULL))
) STRICT;
CREATE INDEX audit_index_request ON audit_index (request_id, log_index);
