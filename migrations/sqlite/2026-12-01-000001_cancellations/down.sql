DROP INDEX subscriptions_contract_number_idx;
DROP INDEX subscriptions_cancelled_idx;
ALTER TABLE subscriptions DROP COLUMN cancelled_at;
