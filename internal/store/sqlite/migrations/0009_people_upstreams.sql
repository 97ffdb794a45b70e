-- People, not keys: the person who holds a key ('' means the key's name).
ALTER TABLE keys ADD COLUMN person TEXT NOT NULL DEFAULT '';

-- Approvals bind the upstream where the call may run; approvals made
-- before this migration are bound to none, and so can never run.
ALTER TABLE approvals ADD COLUMN upstream TEXT NOT NULL DEFAULT '';
-- The persons besides the requester's who may run the approved call.
ALTER TABLE approvals ADD COLUMN delegates TEXT NOT NULL DEFAULT '[]'
	CHECK (json_valid(delegates) AND json_type(delegates) = 'array');
-- The requester's person (Principal.Who()), for the per-person cap on
-- pending approvals.
ALTER TABLE approvals ADD COLUMN requester TEXT NOT NULL DEFAULT '';
UPDATE approvals SET requester = coalesce(
	nullif(json_extract(principal, '$.person'), ''),
	nullif(json_extract(principal, '$.name'), ''),
	principal_id);
CREATE INDEX approvals_requester ON approvals (requester, status, expires_at);
