DROP TABLE number_sequences;
DROP INDEX customers_identity_idx;
DROP INDEX subscriptions_contract_personnel_idx;
ALTER TABLE subscriptions DROP COLUMN personnel_number;
DROP TABLE applications;
