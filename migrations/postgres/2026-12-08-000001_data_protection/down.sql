DROP INDEX audit_log_action_idx;
DROP INDEX audit_log_actor_idx;
ALTER TABLE sessions DROP COLUMN client_ip;
ALTER TABLE sessions DROP COLUMN user_agent;
ALTER TABLE sessions DROP COLUMN last_used_at;
ALTER TABLE accounts DROP COLUMN language;
