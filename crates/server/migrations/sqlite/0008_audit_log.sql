-- The audit trail: one row per write, identification, verification, comparison, diarization,
-- live stream, audio download and administrative erasure (see src/http/audit.rs). It names
-- who (team, user, token ID — never the token), what (action, resource IDs), the outcome (the
-- Coze code), the request's logid and the client's address; never audio, embeddings or names.
-- IDs come from the application's generator, like every other ID. No foreign keys: an entry outlives the user and the resources it names.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    team_id     INTEGER,
    user_id     INTEGER,
    token_id    INTEGER,
    action      TEXT NOT NULL,
    resources   TEXT NOT NULL,
    code        INTEGER NOT NULL,
    logid       TEXT NOT NULL,
    client      TEXT NOT NULL
);
CREATE INDEX audit_log_by_time ON audit_log(at);
CREATE INDEX audit_log_by_user ON audit_log(user_id, at);

-- Append-only: an entry is never changed (only the retention sweep deletes old ones).
CREATE TRIGGER audit_log_append_only BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
