-- Which provider and model each principal's traffic used, aggregated per
-- hour (see internal/exposure). Times are Unix microseconds, UTC.
CREATE TABLE exposure_usage (
	principal_id   TEXT    NOT NULL,
	principal_name TEXT    NOT NULL, -- the latest name seen, for display
	route          TEXT    NOT NULL, -- the model name the client asked for
	provider       TEXT    NOT NULL, -- the configured provider's name
	provider_type  TEXT    NOT NULL, -- anthropic, openai, openai-compatible, simulated
	model          TEXT    NOT NULL, -- the model the provider served
	hour           INTEGER NOT NULL, -- start of the hour
	requests       INTEGER NOT NULL,
	input_tokens   INTEGER NOT NULL,
	output_tokens  INTEGER NOT NULL,
	features       TEXT    NOT NULL CHECK (json_valid(features)), -- {"tools": n, "images": n, ...}
	last_used      INTEGER NOT NULL,
	PRIMARY KEY (principal_id, route, provider, model, hour)
) STRICT;
-- Reports read a window of hours, all principals or one.
CREATE INDEX exposure_usage_hour ON exposure_usage (hour);
