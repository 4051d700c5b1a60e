-- Orders without an account or holder cannot go back; the columns stay nullable.
DROP INDEX applications_retention_idx;
DELETE FROM applications WHERE account_id IS NULL OR holder_erased_at IS NOT NULL;
ALTER TABLE applications DROP COLUMN holder_erased_at;
