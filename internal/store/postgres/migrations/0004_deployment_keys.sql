-- The shared secrets a deployment was initialised with, by fingerprint:
-- a replica that finds one missing from the shared data_dir, or
-- different, refuses to start rather than make its own.
CREATE TABLE deployment_keys (
	name        TEXT PRIMARY KEY,
	fingerprint TEXT NOT NULL,
	created_at  BIGINT NOT NULL -- microseconds since the Unix epoch, UTC
);
