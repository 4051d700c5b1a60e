-- Kündigung: when a ticket was cancelled (the dashboard counts this month's), and the
-- contract's ticket list, which reads subscriptions by their company contract.
ALTER TABLE subscriptions ADD COLUMN cancelled_at TIMESTAMP;
CREATE INDEX subscriptions_cancelled_idx ON subscriptions (cancelled_at);
CREATE INDEX subscriptions_contract_number_idx ON subscriptions (company_contract_id, contract_number, id);
