-- Encryption at rest (see src/storage/encryption.rs): the data keys that recordings and
-- embeddings are sealed with, each wrapped under a master key that never enters the storage.
-- A data key has one row per master key wrapping it: two while a rotation runs, else one.
-- Its ID is "NUMBER/MASTER_KEY_ID".
CREATE TABLE data_keys (
    id              TEXT PRIMARY KEY,
    number          BIGINT NOT NULL,
    master_key_id   TEXT NOT NULL,
    wrapped         BYTEA NOT NULL,
    created_at      BIGINT NOT NULL
);
