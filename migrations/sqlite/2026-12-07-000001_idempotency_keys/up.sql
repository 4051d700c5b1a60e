-- Idempotency-Key: one row per (scope, method, path, key), its id a hash of them.
-- `status` is `running` while the first request runs (held until `locked_until`, after
-- which a crashed instance's claim may be taken over) and `done` once its answer is
-- stored. Deleted by retention after 24 hours.
CREATE TABLE idempotency_keys (
    id                     TEXT PRIMARY KEY,
    request_hash           TEXT NOT NULL,
    status                 TEXT NOT NULL,
    response_status        INTEGER,
    response_body          BLOB,
    response_content_type  TEXT,
    response_location      TEXT,
    response_etag          TEXT,
    created_at             TIMESTAMP NOT NULL,
    locked_until           TIMESTAMP NOT NULL
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
