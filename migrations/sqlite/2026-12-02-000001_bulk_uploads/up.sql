-- Massenupload: the report of each staff list uploaded for a contract (the file itself
-- is never kept). `errors` holds the rejected rows' errors as JSON.
CREATE TABLE bulk_uploads (
    id          TEXT PRIMARY KEY,
    contract_id TEXT NOT NULL REFERENCES company_contracts (id) ON DELETE CASCADE,
    file_name   TEXT NOT NULL,
    dry_run     BOOLEAN NOT NULL,
    total       INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    rejected    INTEGER NOT NULL,
    errors      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    created_by  TEXT REFERENCES accounts (id) ON DELETE SET NULL
);
CREATE INDEX bulk_uploads_contract_idx ON bulk_uploads (contract_id, created_at, id);
