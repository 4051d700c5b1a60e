-- Anträge: an employee's order of a job ticket under a company contract, made with the
-- contract's customer code. The holder's data is kept on the application until the
-- employer decides; an approval creates (or reuses) the customer and a subscription.
CREATE TABLE applications (
    id                TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    contract_id       TEXT NOT NULL REFERENCES company_contracts (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,
    start_month       DATE NOT NULL,
    salutation        TEXT NOT NULL,
    gender            TEXT NOT NULL,
    first_name        TEXT NOT NULL,
    last_name         TEXT COLLATE "C" NOT NULL,
    birth_date        DATE NOT NULL,
    street            TEXT NOT NULL,
    postal_code       TEXT NOT NULL,
    city              TEXT NOT NULL,
    country           TEXT NOT NULL,
    phone             TEXT,
    personnel_number  TEXT,
    marketing_consent BOOLEAN NOT NULL,
    search_text       TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    decided_at        TIMESTAMP,
    decided_by        TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    rejection_reason  TEXT,
    subscription_id   TEXT REFERENCES subscriptions (id) ON DELETE SET NULL
);
-- "One pending application per account and contract", held by the database.
CREATE UNIQUE INDEX applications_one_pending_key ON applications (account_id, contract_id) WHERE status = 'pending';
CREATE INDEX applications_account_idx ON applications (account_id, created_at, id);
CREATE INDEX applications_contract_created_idx ON applications (contract_id, created_at, id);
CREATE INDEX applications_contract_name_idx ON applications (contract_id, last_name, id);
CREATE INDEX applications_contract_month_idx ON applications (contract_id, start_month, id);
CREATE INDEX applications_contract_status_idx ON applications (contract_id, status, created_at, id);

-- The employer's personnel number of a ticket's holder, given with an order.
ALTER TABLE subscriptions ADD COLUMN personnel_number TEXT;
CREATE INDEX subscriptions_contract_personnel_idx ON subscriptions (company_contract_id, personnel_number);
CREATE INDEX customers_identity_idx ON customers (birth_date, postal_code);

-- Numbers the portal allocates itself (a subscription's contract number, a customer's
-- number): the last one given per kind. Allocation updates the row, so two
-- transactions never get the same value.
CREATE TABLE number_sequences (
    name       TEXT PRIMARY KEY,
    last_value BIGINT NOT NULL
);
INSERT INTO number_sequences (name, last_value) VALUES ('subscription_contract_number', 0), ('customer_number', 0);
