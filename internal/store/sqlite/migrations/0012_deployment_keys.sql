-- The shared secrets a deployment was initialised with, by fingerprint:
-- a gateway that finds one missing from the data directory, or different,
-- refuses to start rather than make its own.
CREATE TABLE deployment_keys (
	name        TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	created_at  INTEGER NOT NULL -- microseconds since the Unix epoch, UTC
) STRICT;
