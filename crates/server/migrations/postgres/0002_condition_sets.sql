-- Multi-condition scoring: each voiceprint keeps the embeddings of its recording under simulated
-- conditions (little-endian f32 rows, see speakers.rs), and the scoring version they were made
-- for. Rows from before this migration have an empty set and version 0 until `admin reembed`
-- (run by `serve` at start) computes them from the stored audio.
ALTER TABLE voiceprints ADD COLUMN conditions BYTEA NOT NULL DEFAULT '\x'::bytea;
ALTER TABLE voiceprints ADD COLUMN scoring_version BIGINT NOT NULL DEFAULT 0;
CREATE INDEX voiceprints_by_scoring_version ON voiceprints(scoring_version);
