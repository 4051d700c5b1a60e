-- A ticket made by a staff list (Massenupload) names its upload, so that every such
-- ticket can be traced to the list and the account that uploaded it. No foreign key:
-- the upload's report is written in the same transaction just before its tickets, and
-- a foreign key would cost a lookup (and on PostgreSQL a row lock) per ticket, which
-- nearly doubled the time of a 10,000-row list.
ALTER TABLE subscriptions ADD COLUMN bulk_upload_id TEXT;
CREATE INDEX subscriptions_bulk_upload_idx ON subscriptions (bulk_upload_id) WHERE bulk_upload_id IS NOT NULL;
