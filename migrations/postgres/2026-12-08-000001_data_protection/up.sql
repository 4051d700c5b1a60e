-- Data-protection rights (export, erasure, the operator's audit trail).

-- The language an account registered in (`de` or `en`): its data export names it.
ALTER TABLE accounts ADD COLUMN language TEXT NOT NULL DEFAULT 'de';

-- What a subscriber sees of their sessions in the export: when a session was last used
-- (its login or latest refresh), from which client and address.
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMP;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN client_ip TEXT;

-- The trail's filters: by actor and by action, newest first.
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, occurred_at);
CREATE INDEX audit_log_action_idx ON audit_log (action, occurred_at);

-- Accounts deleted before the trail existed leave it as new deletions do: their id
-- goes, the actor reads `deleted-account`.
UPDATE audit_log SET actor_id = 'deleted-account', client_ip = NULL
 WHERE actor_id IS NOT NULL AND actor_id NOT IN (SELECT id FROM accounts);
UPDATE audit_log SET subject_id = NULL, client_ip = NULL
 WHERE (action LIKE 'account.%' OR action LIKE 'auth.%')
   AND subject_id IS NOT NULL AND subject_id NOT IN (SELECT id FROM accounts);
