-- Shadow-mode comparisons: a sample of live requests mirrored to a
-- candidate provider (see internal/shadow). No content, only the
-- comparison. Times are Unix microseconds, UTC.
CREATE TABLE shadow_results (
	id                 INTEGER PRIMARY KEY,
	route              TEXT    NOT NULL,
	candidate          TEXT    NOT NULL, -- provider/model
	at                 INTEGER NOT NULL,
	primary_ok         INTEGER NOT NULL,
	candidate_ok       INTEGER NOT NULL,
	primary_ms         REAL    NOT NULL,
	candidate_ms       REAL    NOT NULL,
	tool_agreement     INTEGER,          -- NULL when neither called a tool
	refusal_agreement  INTEGER NOT NULL,
	similarity         REAL    NOT NULL,
	detail             TEXT    NOT NULL CHECK (json_valid(detail))
) STRICT;
CREATE INDEX shadow_results_route ON shadow_results (route, candidate, at);
