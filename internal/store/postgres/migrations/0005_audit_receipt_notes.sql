-- Version 2 receipts (auditverify.ReceiptGroup) begin with the signed note
-- of their journal group, the same for every entry of the group, 230 to
-- 300 bytes; the rest is the entry's own index, leaf hash and audit path.
-- A batch of index rows stores each note once, in receipt_note of the
-- first row that has it; the batch's other rows of that group point at
-- that row (receipt_ref, its log_index). receipt_proof holds each row's
-- rest, so that the receipt is receipt_note (or its ref's) then
-- receipt_proof, byte for byte. receipt then stays '' for the row;
-- version 1 receipts, and anything not a version 2 receipt, stay whole in
-- receipt as before. (The SQLite store's migration 0013 does the same.)
ALTER TABLE audit_index ADD COLUMN receipt_note BYTEA;
ALTER TABLE audit_index ADD COLUMN receipt_ref BIGINT;
ALTER TABLE audit_index ADD COLUMN receipt_proof BYTEA;
