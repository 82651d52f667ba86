-- Readiness checks prove that the database still accepts writes by committing this one row
-- (see readiness.rs). It holds nothing else, and `migrate-data` leaves it behind.
CREATE TABLE storage_probe (
    singleton   BIGINT PRIMARY KEY CHECK (singleton = 1),
    probed_at   BIGINT NOT NULL
);
