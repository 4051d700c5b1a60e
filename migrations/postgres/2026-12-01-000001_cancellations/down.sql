ALTER TABLE customers ALTER COLUMN last_name TYPE TEXT COLLATE "default";
ALTER TABLE subscriptions ALTER COLUMN status TYPE TEXT COLLATE "default";
ALTER TABLE subscriptions ALTER COLUMN personnel_number TYPE TEXT COLLATE "default";
ALTER TABLE subscriptions ALTER COLUMN contract_number TYPE TEXT COLLATE "default";
DROP INDEX subscriptions_contract_number_idx;
DROP INDEX subscriptions_cancelled_idx;
ALTER TABLE subscriptions DROP COLUMN cancelled_at;
