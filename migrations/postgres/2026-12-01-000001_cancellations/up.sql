-- Kündigung: when a ticket was cancelled (the dashboard counts this month's), and the
-- contract's ticket list, which reads subscriptions by their company contract.
ALTER TABLE subscriptions ADD COLUMN cancelled_at TIMESTAMP;
CREATE INDEX subscriptions_cancelled_idx ON subscriptions (cancelled_at);
CREATE INDEX subscriptions_contract_number_idx ON subscriptions (company_contract_id, contract_number, id);
-- The ticket list sorts by these; code-point order, as SQLite's BINARY and the contract
-- list, so a page is the same page whichever database serves it.
ALTER TABLE subscriptions ALTER COLUMN contract_number TYPE TEXT COLLATE "C";
ALTER TABLE subscriptions ALTER COLUMN personnel_number TYPE TEXT COLLATE "C";
ALTER TABLE subscriptions ALTER COLUMN status TYPE TEXT COLLATE "C";
ALTER TABLE customers ALTER COLUMN last_name TYPE TEXT COLLATE "C";
