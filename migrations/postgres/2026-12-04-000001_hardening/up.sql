-- A ticket made by a staff list (Massenupload) names its upload, so that every such
-- ticket can be traced to the list and the account that uploaded it.
ALTER TABLE subscriptions ADD COLUMN bulk_upload_id TEXT REFERENCES bulk_uploads (id) ON DELETE SET NULL;
CREATE INDEX subscriptions_bulk_upload_idx ON subscriptions (bulk_upload_id) WHERE bulk_upload_id IS NOT NULL;
