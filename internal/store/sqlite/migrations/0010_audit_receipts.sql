-- The audit log's receipt for each entry (auditverify.Receipt, its header
-- form): the log's signed promise that the entry is at log_index within
-- the maximum merge delay. '' for entries indexed before receipts.
ALTER TABLE audit_index ADD COLUMN receipt TEXT NOT NULL DEFAULT '';
