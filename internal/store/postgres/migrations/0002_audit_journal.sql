-- The audit journal that the replicas of a fleet share (see
-- internal/auditlog's fleet.go and this package's journal.go). A record is
-- durable, and its receipt may be given, once the transaction that
-- inserted it commits. record holds exactly the bytes of a file journal
-- record (length, CRC-32C, then the payload, whose first field is seq).
-- Rows the tree holds are deleted by the integrator.
CREATE TABLE audit_journal (
	seq    BIGINT PRIMARY KEY CHECK (seq >= 0),
	record BYTEA  NOT NULL
);

-- The journal's head: the next sequence number. Each group of records
-- takes its numbers by updating this one row in the transaction that
-- inserts them, so the row lock orders groups across replicas: numbers are
-- gapless and in commit order.
CREATE TABLE audit_journal_head (
	one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
	next BIGINT  NOT NULL CHECK (next >= 0)
);
INSERT INTO audit_journal_head (one, next) VALUES (TRUE, 0);
