-- A company's webhook endpoints for HR systems (Standard Webhooks). `events` is the
-- subscribed event types, comma-separated. The signing secret must be kept readable to
-- sign; after a rotation the previous one signs beside it until `previous_secret_until`.
-- `failing_since`: the first failed attempt since the last success (an endpoint failing
-- for 5 days is disabled).
CREATE TABLE webhooks (
    id                     TEXT PRIMARY KEY,
    company_id             TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    url                    TEXT NOT NULL,
    description            TEXT NOT NULL,
    events                 TEXT NOT NULL,
    enabled                BOOLEAN NOT NULL,
    secret                 TEXT NOT NULL,
    previous_secret        TEXT,
    previous_secret_until  TIMESTAMP,
    failing_since          TIMESTAMP,
    disabled_at            TIMESTAMP,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_company_idx ON webhooks (company_id, created_at, id);

-- One event to one endpoint: written in the transaction of the change that causes it,
-- like the e-mail outbox. `message_id` is the `webhook-id`, the same on every attempt
-- and redelivery; `body` is fixed when the event happens.
CREATE TABLE webhook_deliveries (
    id                TEXT PRIMARY KEY,
    webhook_id        TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    message_id        TEXT NOT NULL,
    event_type        TEXT NOT NULL,
    body              TEXT NOT NULL,
    traceparent       TEXT,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL,
    last_status_code  INTEGER,
    last_error        TEXT,
    last_attempt_at   TIMESTAMP,
    next_attempt_at   TIMESTAMP NOT NULL,
    locked_until      TIMESTAMP,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due_idx ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, created_at, id);
