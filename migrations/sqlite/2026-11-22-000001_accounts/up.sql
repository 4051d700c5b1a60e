-- Accounts of subscribers, company users and operators.
-- Ids are UUIDs stored as text so both backends share one schema.rs.
-- Timestamps are UTC, stored without time zone.
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    email               TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    first_name          TEXT NOT NULL,
    last_name           TEXT NOT NULL,
    role                TEXT NOT NULL,
    email_verified_at   TIMESTAMP,
    tokens_valid_after  TIMESTAMP NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
-- e-mail is stored lower-cased; the unique index makes concurrent registrations safe.
CREATE UNIQUE INDEX accounts_email_key ON accounts (email);

-- Single-use tokens sent by e-mail (verification, password reset). Only the hash is kept.
CREATE TABLE email_tokens (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    token_hash  TEXT NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX email_tokens_hash_key ON email_tokens (token_hash);
CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose);

-- A login session: one refresh-token family.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    account_id  TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP
);
CREATE INDEX sessions_account_idx ON sessions (account_id);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    session_id  TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    rotated_at  TIMESTAMP
);
CREATE UNIQUE INDEX refresh_tokens_hash_key ON refresh_tokens (token_hash);

-- Transactional outbox: written in the same transaction as the change that causes it.
CREATE TABLE email_outbox (
    id               TEXT PRIMARY KEY,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    text_body        TEXT NOT NULL,
    html_body        TEXT NOT NULL,
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    locked_until     TIMESTAMP,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP
);
CREATE INDEX email_outbox_due_idx ON email_outbox (status, next_attempt_at);

-- Fixed-window counters shared by every instance (rate limits).
CREATE TABLE rate_limits (
    key           TEXT PRIMARY KEY,
    window_start  TIMESTAMP NOT NULL,
    hits          INTEGER NOT NULL
);

-- Who did what, when. Never secrets; no personal data beyond opaque ids.
CREATE TABLE audit_log (
    id           TEXT PRIMARY KEY,
    occurred_at  TIMESTAMP NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    subject_id   TEXT,
    client_ip    TEXT,
    request_id   TEXT,
    details      TEXT
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, occurred_at);
