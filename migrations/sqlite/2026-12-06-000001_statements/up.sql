-- The operator's price list: a product's list price and job discount from the 1st of a
-- month until the next entry for the same product. Money is integer cents, a discount
-- hundredths of a percent (500 = 5 %): never a float.
CREATE TABLE prices (
    id                  TEXT PRIMARY KEY,
    product_offering    TEXT NOT NULL,
    valid_from          DATE NOT NULL,
    list_price_cents    BIGINT NOT NULL,
    job_discount_bp     BIGINT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    created_by          TEXT REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE UNIQUE INDEX prices_product_month_idx ON prices (product_offering, valid_from);

-- The employer's share of a contract: a percent of the list price (hundredths of a
-- percent) or an amount (cents); both NULL while none is set.
ALTER TABLE company_contracts ADD COLUMN employer_share_kind TEXT;
ALTER TABLE company_contracts ADD COLUMN employer_share_value BIGINT;

-- A final monthly statement (Abrechnung) of a contract: what was frozen once the month
-- had ended. The contract's and company's names are copied, so later corrections never
-- change it. One per contract and month (the unique index decides who freezes).
CREATE TABLE statements (
    id                    TEXT PRIMARY KEY,
    contract_id           TEXT NOT NULL REFERENCES company_contracts (id) ON DELETE CASCADE,
    month                 DATE NOT NULL,
    contract_number       TEXT NOT NULL,
    company_name          TEXT NOT NULL,
    customer_number       TEXT NOT NULL,
    list_price_cents      BIGINT NOT NULL,
    job_price_cents       BIGINT NOT NULL,
    employer_share_kind   TEXT,
    employer_share_value  BIGINT,
    employer_share_cents  BIGINT NOT NULL,
    employee_share_cents  BIGINT NOT NULL,
    share_below_minimum   BOOLEAN NOT NULL,
    tickets               BIGINT NOT NULL,
    final_at              TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX statements_contract_month_idx ON statements (contract_id, month);
CREATE INDEX statements_month_idx ON statements (month, contract_number);

-- The tickets of a final statement as they were when it was frozen.
CREATE TABLE statement_items (
    statement_id      TEXT NOT NULL REFERENCES statements (id) ON DELETE CASCADE,
    subscription_id   TEXT NOT NULL,
    contract_number   TEXT NOT NULL,
    personnel_number  TEXT,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    valid_from        DATE NOT NULL,
    valid_to          DATE,
    status            TEXT NOT NULL,
    PRIMARY KEY (statement_id, subscription_id)
);
CREATE INDEX statement_items_name_idx ON statement_items (statement_id, last_name, first_name, subscription_id);

-- The statement's tickets of a month: those of a contract whose validity overlaps it.
CREATE INDEX subscriptions_contract_validity_idx ON subscriptions (company_contract_id, valid_from, valid_to);
