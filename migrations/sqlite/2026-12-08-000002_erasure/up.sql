-- Erasure with legal retention. An order outlives its account (the operator keeps what
-- it decided), and its holder data can be erased while the row, its status and dates
-- stay: the names become empty, the other holder fields NULL, and `holder_erased_at`
-- says so (the API then shows the holder as null). SQLite changes a column's
-- constraints only by rebuilding the table, with its indexes and triggers.
CREATE TABLE applications_rebuilt (
    id                TEXT PRIMARY KEY,
    account_id        TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    contract_id       TEXT NOT NULL REFERENCES company_contracts (id) ON DELETE CASCADE,
    status            TEXT NOT NULL,
    start_month       DATE NOT NULL,
    salutation        TEXT,
    gender            TEXT,
    first_name        TEXT NOT NULL,
    last_name         TEXT NOT NULL,
    birth_date        DATE,
    street            TEXT,
    postal_code       TEXT,
    city              TEXT,
    country           TEXT,
    phone             TEXT,
    personnel_number  TEXT,
    marketing_consent BOOLEAN NOT NULL,
    search_text       TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    decided_at        TIMESTAMP,
    decided_by        TEXT REFERENCES accounts (id) ON DELETE SET NULL,
    rejection_reason  TEXT,
    subscription_id   TEXT REFERENCES subscriptions (id) ON DELETE SET NULL,
    holder_erased_at  TIMESTAMP
);
INSERT INTO applications_rebuilt
    (id, account_id, contract_id, status, start_month, salutation, gender, first_name,
     last_name, birth_date, street, postal_code, city, country, phone, personnel_number,
     marketing_consent, search_text, created_at, decided_at, decided_by, rejection_reason,
     subscription_id)
SELECT id, account_id, contract_id, status, start_month, salutation, gender, first_name,
       last_name, birth_date, street, postal_code, city, country, phone, personnel_number,
       marketing_consent, search_text, created_at, decided_at, decided_by, rejection_reason,
       subscription_id
  FROM applications;
DROP TABLE applications;
ALTER TABLE applications_rebuilt RENAME TO applications;

CREATE UNIQUE INDEX applications_one_pending_key ON applications (account_id, contract_id) WHERE status = 'pending';
CREATE INDEX applications_account_idx ON applications (account_id, created_at, id);
CREATE INDEX applications_contract_created_idx ON applications (contract_id, created_at, id);
CREATE INDEX applications_contract_name_idx ON applications (contract_id, last_name, id);
CREATE INDEX applications_contract_month_idx ON applications (contract_id, start_month, id);
CREATE INDEX applications_contract_status_idx ON applications (contract_id, status, created_at, id);
-- Retention looks for decided orders whose holder data is still there.
CREATE INDEX applications_retention_idx ON applications (status, decided_at) WHERE holder_erased_at IS NULL;

CREATE TRIGGER application_counts_insert AFTER INSERT ON applications
BEGIN
    INSERT INTO application_counts (contract_id, status, applications)
    VALUES (NEW.contract_id, NEW.status, 1)
    ON CONFLICT (contract_id, status) DO UPDATE SET applications = applications + 1;
END;

CREATE TRIGGER application_counts_delete AFTER DELETE ON applications
BEGIN
    UPDATE application_counts SET applications = applications - 1
     WHERE contract_id = OLD.contract_id AND status = OLD.status;
END;

CREATE TRIGGER application_counts_update AFTER UPDATE OF status, contract_id ON applications
WHEN OLD.status IS NOT NEW.status OR OLD.contract_id IS NOT NEW.contract_id
BEGIN
    UPDATE application_counts SET applications = applications - 1
     WHERE contract_id = OLD.contract_id AND status = OLD.status;
    INSERT INTO application_counts (contract_id, status, applications)
    VALUES (NEW.contract_id, NEW.status, 1)
    ON CONFLICT (contract_id, status) DO UPDATE SET applications = applications + 1;
END;

