-- The PostgreSQL form of SQLite's migrations 0001 to 0011, in one file.
-- Times are Unix microseconds, UTC, in BIGINT columns: the same values the
-- SQLite store keeps, exact to the microsecond the store promises. JSON is
-- kept as TEXT, checked by a cast to json, so that it comes back byte for
-- byte as it was written (jsonb would reorder keys and refuse \u0000).
-- Blobs are BYTEA. The database's encoding must be UTF8.

-- API keys, one principal per key (the principal's ID is the key's ID).
CREATE TABLE keys (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- creation (insertion) order
	id           TEXT   NOT NULL UNIQUE,
	hash         BYTEA  NOT NULL UNIQUE CHECK (octet_length(hash) = 32), -- SHA-256 of the plaintext
	prefix       TEXT   NOT NULL,
	name         TEXT   NOT NULL,
	person       TEXT   NOT NULL DEFAULT '', -- the person who holds the key ('' means the key's name)
	org          TEXT   NOT NULL,
	purpose      TEXT   NOT NULL,
	roles        TEXT   NOT NULL CHECK (json_typeof(roles::json) = 'array'),
	created_at   BIGINT NOT NULL,
	revoked_at   BIGINT,
	last_used_at BIGINT
);

-- Policy bundles that were activated, in order. The highest version is the
-- active one; versions only ever increase (rollback protection survives
-- restarts). trust_hash is the trust set a signed activation was checked
-- against, '' for an unsigned one.
CREATE TABLE policy_activations (
	seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	version      BIGINT NOT NULL UNIQUE CHECK (version > 0),
	hash         TEXT   NOT NULL,
	signers      TEXT   NOT NULL CHECK (json_typeof(signers::json) = 'array'),
	trust_hash   TEXT   NOT NULL DEFAULT '',
	activated_at BIGINT NOT NULL
);

-- The trust root: the set of keys (and how many of them) whose signatures a
-- policy bundle needs. The first signed activation pins it; from then on it
-- changes only through a rotation signed by a threshold of the set before.
-- The newest row is the trust root in force.
CREATE TABLE trust_roots (
	seq       BIGINT PRIMARY KEY,
	hash      TEXT   NOT NULL UNIQUE,
	keys      TEXT   NOT NULL CHECK (json_typeof(keys::json) = 'array'),
	threshold INT    NOT NULL CHECK (threshold > 0),
	rotation  TEXT   NOT NULL DEFAULT '', -- the signed rotation note; '' for the first pin
	pinned_at BIGINT NOT NULL
);

-- The audit log's local side (see internal/auditlog). One row per log
-- entry. salt and body are NULL when the entry carries no commitment, or
-- once its opening has been deleted after the retention period. receipt is
-- the log's signed promise for the entry (auditverify.Receipt, header form).
CREATE TABLE audit_index (
	log_index  BIGINT PRIMARY KEY CHECK (log_index >= 0),
	request_id TEXT   NOT NULL,
	kind       TEXT   NOT NULL,
	stage      TEXT   NOT NULL,
	salt       BYTEA,
	body       BYTEA,
	receipt    TEXT   NOT NULL DEFAULT '',
	created_at BIGINT NOT NULL,
	CHECK ((salt IS NULL) = (body IS NULL))
);
CREATE INDEX audit_index_request ON audit_index (request_id, log_index);
-- Finds the rows that still hold an opening, oldest first.
CREATE INDEX audit_index_openings ON audit_index (created_at) WHERE salt IS NOT NULL;

-- Tool calls held for human approval (see internal/approval). status,
-- decided_at, consumed_at and votes are the only columns that change after
-- insertion. upstream binds where the call may run; delegates are the
-- persons besides the requester's who may run it; requester is the
-- requester's person (Principal.Who()), for the cap on pending approvals.
CREATE TABLE approvals (
	seq            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, -- creation (insertion) order
	id             TEXT   NOT NULL UNIQUE,
	request_id     TEXT   NOT NULL,
	principal_id   TEXT   NOT NULL,
	principal      TEXT   NOT NULL CHECK (principal::json IS NOT NULL),
	requester      TEXT   NOT NULL,
	upstream       TEXT   NOT NULL DEFAULT '',
	delegates      TEXT   NOT NULL DEFAULT '[]' CHECK (json_typeof(delegates::json) = 'array'),
	tool           TEXT   NOT NULL,
	class          TEXT   NOT NULL,
	arguments      TEXT   NOT NULL CHECK (json_typeof(arguments::json) = 'object'),
	args_digest    TEXT   NOT NULL,
	policy_version BIGINT NOT NULL,
	rule           TEXT   NOT NULL,
	require_role   TEXT   NOT NULL,
	require_count  INT    NOT NULL CHECK (require_count >= 1),
	excerpt        TEXT   NOT NULL,
	status         TEXT   NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired', 'consumed')),
	votes          TEXT   NOT NULL CHECK (json_typeof(votes::json) = 'array'),
	created_at     BIGINT NOT NULL,
	expires_at     BIGINT NOT NULL,
	decided_at     BIGINT,
	consumed_at    BIGINT
);
CREATE INDEX approvals_status ON approvals (status, expires_at);
CREATE INDEX approvals_digest ON approvals (principal_id, args_digest);
CREATE INDEX approvals_requester ON approvals (requester, status, expires_at);

-- The surveillance safeguard's per-principal state (see internal/subjects),
-- as the subjects package encodes it. Only HMAC subject keys are in it,
-- never identifiers.
CREATE TABLE subject_state (
	principal_id TEXT   NOT NULL,
	kind         TEXT   NOT NULL CHECK (kind IN ('windows', 'profiles')),
	data         BYTEA  NOT NULL,
	updated_at   BIGINT NOT NULL,
	PRIMARY KEY (principal_id, kind)
);

-- Which provider and model each principal's traffic used, aggregated per
-- hour (see internal/exposure).
CREATE TABLE exposure_usage (
	principal_id   TEXT   NOT NULL,
	principal_name TEXT   NOT NULL, -- the latest name seen, for display
	route          TEXT   NOT NULL, -- the model name the client asked for
	provider       TEXT   NOT NULL, -- the configured provider's name
	provider_type  TEXT   NOT NULL, -- anthropic, openai, openai-compatible, simulated
	model          TEXT   NOT NULL, -- the model the provider served
	hour           BIGINT NOT NULL, -- start of the hour
	requests       BIGINT NOT NULL,
	input_tokens   BIGINT NOT NULL,
	output_tokens  BIGINT NOT NULL,
	features       TEXT   NOT NULL CHECK (json_typeof(features::json) = 'object'), -- {"tools": n, "images": n, ...}
	last_used      BIGINT NOT NULL,
	PRIMARY KEY (principal_id, route, provider, model, hour)
);
-- Reports read a window of hours, all principals or one.
CREATE INDEX exposure_usage_hour ON exposure_usage (hour);

-- Shadow-mode comparisons (see internal/shadow). No content, only the
-- comparison; latencies in microseconds. The agreement columns are NULL
-- when the pair could not be compared.
CREATE TABLE shadow_results (
	id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	route             TEXT             NOT NULL,
	candidate         TEXT             NOT NULL, -- provider/model
	at                BIGINT           NOT NULL,
	primary_ok        BOOLEAN          NOT NULL,
	candidate_ok      BOOLEAN          NOT NULL,
	primary_us        BIGINT           NOT NULL,
	candidate_us      BIGINT           NOT NULL,
	tool_agreement    BOOLEAN,
	refusal_agreement BOOLEAN,
	similarity        DOUBLE PRECISION,
	detail            TEXT             NOT NULL CHECK (detail::json IS NOT NULL)
);
CREATE INDEX shadow_results_at ON shadow_results (at);
CREATE INDEX shadow_results_route ON shadow_results (route, at);
