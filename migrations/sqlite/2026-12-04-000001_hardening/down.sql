DROP INDEX subscriptions_bulk_upload_idx;
ALTER TABLE subscriptions DROP COLUMN bulk_upload_id;
