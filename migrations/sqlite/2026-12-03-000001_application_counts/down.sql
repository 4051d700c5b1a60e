DROP TRIGGER application_counts_update;
DROP TRIGGER application_counts_delete;
DROP TRIGGER application_counts_insert;
DROP TABLE application_counts;
