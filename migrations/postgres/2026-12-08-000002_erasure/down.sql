DROP INDEX applications_retention_idx;
DELETE FROM applications WHERE account_id IS NULL OR holder_erased_at IS NOT NULL;
ALTER TABLE applications DROP COLUMN holder_erased_at;
ALTER TABLE applications
    ALTER COLUMN salutation SET NOT NULL,
    ALTER COLUMN gender SET NOT NULL,
    ALTER COLUMN birth_date SET NOT NULL,
    ALTER COLUMN street SET NOT NULL,
    ALTER COLUMN postal_code SET NOT NULL,
    ALTER COLUMN city SET NOT NULL,
    ALTER COLUMN country SET NOT NULL;
ALTER TABLE applications DROP CONSTRAINT applications_account_id_fkey;
ALTER TABLE applications ADD CONSTRAINT applications_account_id_fkey
    FOREIGN KEY (account_id) REFERENCES accounts (id) ON DELETE CASCADE;
ALTER TABLE applications ALTER COLUMN account_id SET NOT NULL;
