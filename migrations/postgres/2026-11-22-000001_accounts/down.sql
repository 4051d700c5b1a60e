DROP TABLE audit_log;
DROP TABLE rate_limits;
DROP TABLE email_outbox;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE email_tokens;
DROP TABLE accounts;
