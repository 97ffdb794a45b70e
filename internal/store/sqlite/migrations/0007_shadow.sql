-- Shadow-mode comparisons: a sample of live requests mirrored to a
-- candidate provider (see internal/shadow). No content, only the
-- comparison. Times are Unix microseconds, UTC; latencies microseconds.
-- The agreement columns are NULL when the pair could not be compared
-- (one side failed, or for tools, neither side called one).
CREATE TABLE shadow_results (
	id                 INTEGER PRIMARY KEY,
	route              TEXT    NOT NULL,
	candidate          TEXT    NOT NULL, -- provider/model
	at                 INTEGER NOT NULL,
	primary_ok         INTEGER NOT NULL,
	candidate_ok       INTEGER NOT NULL,
	primary_us         INTEGER NOT NULL,
	candidate_us       INTEGER NOT NULL,
	tool_agreement     INTEGER,
	refusal_agreement  INTEGER,
	similarity         REAL,
	detail             TEXT    NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX shadow_results_at ON shadow_results (at);
CREATE INDEX shadow_results_route ON shadow_results (route, at);
