-- The company portal: who may act for a company (Anwender), the customer codes a
-- company hands to its staff, and what the contract list searches and sorts by.

-- A membership starts as an invitation to an address (`account_id` empty, only the hash
-- of its single-use token kept) and becomes active when accepted. One per company and
-- address: inviting a pending address again replaces its token.
CREATE TABLE company_memberships (
    id                     TEXT PRIMARY KEY,
    company_id             TEXT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    email                  TEXT NOT NULL,
    account_id             TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    first_name             TEXT NOT NULL,
    last_name              TEXT NOT NULL,
    role                   TEXT NOT NULL,
    invited_at             TIMESTAMP NOT NULL,
    invited_by             TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    accepted_at            TIMESTAMP,
    invitation_token_hash  TEXT,
    invitation_expires_at  TIMESTAMP,
    updated_at             TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX company_memberships_company_email_key ON company_memberships (company_id, email);
CREATE UNIQUE INDEX company_memberships_token_key ON company_memberships (invitation_token_hash);
CREATE INDEX company_memberships_account_idx ON company_memberships (account_id);

-- Customer codes (Kundencodes). At most one code per contract is not revoked: a unique
-- partial index, so no race can leave two.
CREATE TABLE customer_codes (
    id           TEXT PRIMARY KEY,
    contract_id  TEXT NOT NULL REFERENCES company_contracts (id) ON DELETE CASCADE,
    code         TEXT NOT NULL,
    valid_until  DATE NOT NULL,
    created_by   TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    created_at   TIMESTAMP NOT NULL,
    revoked_at   TIMESTAMP
);
CREATE UNIQUE INDEX customer_codes_code_key ON customer_codes (code);
CREATE UNIQUE INDEX customer_codes_current_key ON customer_codes (contract_id) WHERE revoked_at IS NULL;
CREATE INDEX customer_codes_contract_idx ON customer_codes (contract_id, created_at);

-- The contract list shows, sorts by and searches its company's name and address beside
-- the contract's own columns. They are copied onto the contract (and refreshed whenever
-- the contract or its company changes), so the list reads one table and every sort
-- column has an index; `search_text` holds the folded words (see `domain::fold`) of the
-- contract and its company. Existing rows get an approximation of the fold here (lower
-- case, umlauts and ß spelled out); the application's next change of a row replaces it.
ALTER TABLE company_contracts ADD COLUMN company_name TEXT NOT NULL DEFAULT '';
ALTER TABLE company_contracts ADD COLUMN company_street TEXT NOT NULL DEFAULT '';
ALTER TABLE company_contracts ADD COLUMN company_postal_code TEXT NOT NULL DEFAULT '';
ALTER TABLE company_contracts ADD COLUMN company_city TEXT NOT NULL DEFAULT '';
ALTER TABLE company_contracts ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE company_contracts
   SET (company_name, company_street, company_postal_code, company_city, search_text) = (
       SELECT co.name, co.street, co.postal_code, co.city,
              replace(replace(replace(replace(lower(
                  company_contracts.contract_number || ' ' || co.name || ' ' || co.street
                  || ' ' || co.postal_code || ' ' || co.city || ' '
                  || company_contracts.product_offering),
                  'ä', 'ae'), 'ö', 'oe'), 'ü', 'ue'), 'ß', 'ss')
         FROM companies co WHERE co.id = company_contracts.company_id);
CREATE INDEX company_contracts_number_sort_idx ON company_contracts (contract_number, id);
CREATE INDEX company_contracts_company_name_sort_idx ON company_contracts (company_name, id);
CREATE INDEX company_contracts_street_sort_idx ON company_contracts (company_street, id);
CREATE INDEX company_contracts_postal_code_sort_idx ON company_contracts (company_postal_code, id);
CREATE INDEX company_contracts_city_sort_idx ON company_contracts (company_city, id);
CREATE INDEX company_contracts_offering_sort_idx ON company_contracts (product_offering, id);
CREATE INDEX company_contracts_status_sort_idx ON company_contracts (status, id);
CREATE INDEX company_contracts_valid_from_sort_idx ON company_contracts (valid_from, id);
