-- The operator's data: companies, their contracts, customers (holders) and their
-- subscriptions, and the history of each customer's marketing consent. Natural keys
-- are unique; numbers are stored in their canonical spelling (no spaces, upper case),
-- so a unique index also refuses the same number typed differently. `search_text` holds
-- the case- and umlaut-folded words a `q` search looks in.
CREATE TABLE companies (
    id               TEXT PRIMARY KEY,
    customer_number  TEXT NOT NULL,
    name             TEXT NOT NULL,
    street           TEXT NOT NULL,
    postal_code      TEXT NOT NULL,
    city             TEXT NOT NULL,
    country          TEXT NOT NULL,
    contact_name     TEXT,
    contact_email    TEXT,
    contact_phone    TEXT,
    search_text      TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX companies_customer_number_key ON companies (customer_number);

CREATE TABLE company_contracts (
    id                TEXT PRIMARY KEY,
    contract_number   TEXT NOT NULL,
    company_id        TEXT NOT NULL REFERENCES companies (id),
    product_offering  TEXT NOT NULL,
    status            TEXT NOT NULL,
    valid_from        DATE NOT NULL,
    valid_to          DATE,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX company_contracts_contract_number_key ON company_contracts (contract_number);
CREATE INDEX company_contracts_company_idx ON company_contracts (company_id);

CREATE TABLE customers (
    id                 TEXT PRIMARY KEY,
    customer_number    TEXT NOT NULL,
    salutation         TEXT NOT NULL,
    gender             TEXT NOT NULL,
    first_name         TEXT NOT NULL,
    last_name          TEXT NOT NULL,
    birth_date         DATE NOT NULL,
    street             TEXT NOT NULL,
    postal_code        TEXT NOT NULL,
    city               TEXT NOT NULL,
    country            TEXT NOT NULL,
    recipient          TEXT,
    phone              TEXT,
    phone_work         TEXT,
    marketing_consent  BOOLEAN NOT NULL,
    recorded_at        DATE NOT NULL,
    search_text        TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX customers_customer_number_key ON customers (customer_number);

-- Every value the marketing consent ever had, with where it came from.
CREATE TABLE consent_changes (
    id                 TEXT PRIMARY KEY,
    customer_id        TEXT NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    marketing_consent  BOOLEAN NOT NULL,
    source             TEXT NOT NULL,
    changed_at         TIMESTAMP NOT NULL
);
CREATE INDEX consent_changes_customer_idx ON consent_changes (customer_id, changed_at);

-- A subscription is linked to at most one account (`account_id`); linking sets it only
-- where it is still empty, so of two accounts racing for one subscription one wins.
CREATE TABLE subscriptions (
    id                   TEXT PRIMARY KEY,
    contract_number      TEXT NOT NULL,
    subscription_number  TEXT,
    chip_card_number     TEXT,
    product              TEXT NOT NULL,
    valid_from           DATE NOT NULL,
    valid_to             DATE,
    status               TEXT NOT NULL,
    customer_id          TEXT NOT NULL REFERENCES customers (id),
    company_contract_id  TEXT REFERENCES company_contracts (id),
    account_id           TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    linked_at            TIMESTAMP,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX subscriptions_contract_number_key ON subscriptions (contract_number);
CREATE UNIQUE INDEX subscriptions_subscription_number_key ON subscriptions (subscription_number);
CREATE UNIQUE INDEX subscriptions_chip_card_number_key ON subscriptions (chip_card_number);
CREATE INDEX subscriptions_customer_idx ON subscriptions (customer_id);
CREATE INDEX subscriptions_company_contract_idx ON subscriptions (company_contract_id);
CREATE INDEX subscriptions_account_idx ON subscriptions (account_id, valid_from);
