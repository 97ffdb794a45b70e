-- Commitment openings (salt and body) are kept for a retention period, then
-- deleted; the commitment stays in the log. This index finds the rows that
-- still hold one, oldest first, without scanning the whole table.
CREATE INDEX audit_index_openings ON audit_index (created_at) WHERE salt IS NOT NULL;
