-- Erasure with legal retention. An order outlives its account (the operator keeps what
-- it decided), and its holder data can be erased while the row, its status and dates
-- stay: the names become empty, the other holder fields NULL, and `holder_erased_at`
-- says so (the API then shows the holder as null).
ALTER TABLE applications ALTER COLUMN account_id DROP NOT NULL;
ALTER TABLE applications DROP CONSTRAINT applications_account_id_fkey;
ALTER TABLE applications ADD CONSTRAINT applications_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE SET NULL;
ALTER TABLE applications
    ALTER COLUMN salutation DROP NOT NULL,
    ALTER COLUMN gender DROP NOT NULL,
    ALTER COLUMN birth_date DROP NOT NULL,
    ALTER COLUMN street DROP NOT NULL,
    ALTER COLUMN postal_code DROP NOT NULL,
    ALTER COLUMN city DROP NOT NULL,
    ALTER COLUMN country DROP NOT NULL;
ALTER TABLE applications ADD COLUMN holder_erased_at TIMESTAMP;
-- Retention looks for decided orders whose holder data is still there.
CREATE INDEX applications_retention_idx ON applications (status, decided_at) WHERE holder_erased_at IS NULL;

