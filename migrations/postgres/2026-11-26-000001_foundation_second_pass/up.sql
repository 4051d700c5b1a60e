-- Rights instead of a role string: one account may be a subscriber and an operator at once.
ALTER TABLE accounts ADD COLUMN operator BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE accounts SET operator = (role = 'operator');
ALTER TABLE accounts DROP COLUMN role;

-- At most one token per account and purpose: a new link replaces the previous one, so
-- two concurrent requests can never leave two valid links.
DELETE FROM email_tokens WHERE id NOT IN (
    SELECT id FROM (
        SELECT id, ROW_NUMBER() OVER (PARTITION BY account_id, purpose ORDER BY created_at DESC) AS rn
        FROM email_tokens
    ) ranked WHERE rn = 1
);
DROP INDEX email_tokens_account_idx;
CREATE UNIQUE INDEX email_tokens_account_purpose_key ON email_tokens (account_id, purpose);

-- The outbox keeps what to send, not the rendered text: links are built, and their
-- tokens created, only when the worker sends, so no usable token ever rests here.
ALTER TABLE email_outbox ADD COLUMN template TEXT NOT NULL DEFAULT '';
ALTER TABLE email_outbox ADD COLUMN lang TEXT NOT NULL DEFAULT 'de';
ALTER TABLE email_outbox ADD COLUMN params TEXT NOT NULL DEFAULT '{}';
ALTER TABLE email_outbox ADD COLUMN link_issued_at TIMESTAMP;
ALTER TABLE email_outbox ADD COLUMN failed_at TIMESTAMP;
UPDATE email_outbox SET failed_at = next_attempt_at WHERE status = 'failed';
-- Mails queued before this change carry their links in clear text: they are not sent
-- (the user asks for a new link) but kept as a record.
UPDATE email_outbox
   SET status = 'failed', failed_at = now() AT TIME ZONE 'UTC',
       last_error = 'queued before links were built at send time; not sent'
 WHERE status = 'pending';
ALTER TABLE email_outbox DROP COLUMN text_body;
ALTER TABLE email_outbox DROP COLUMN html_body;

-- Rate-limit windows know their end, so ended ones can be deleted.
ALTER TABLE rate_limits ADD COLUMN expires_at TIMESTAMP;
UPDATE rate_limits SET expires_at = window_start
    + CASE WHEN key LIKE 'login:%' THEN INTERVAL '15 minutes' ELSE INTERVAL '1 hour' END;
ALTER TABLE rate_limits ALTER COLUMN expires_at SET NOT NULL;
CREATE INDEX rate_limits_expires_idx ON rate_limits (expires_at);

-- Periodic jobs shared by all instances: whoever moves `next_run_at` runs the job.
CREATE TABLE maintenance_runs (
    name         TEXT PRIMARY KEY,
    next_run_at  TIMESTAMP NOT NULL
);

CREATE INDEX audit_log_occurred_idx ON audit_log (occurred_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
