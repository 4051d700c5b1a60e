DROP TRIGGER application_counts_update ON applications;
DROP TRIGGER application_counts_insert_delete ON applications;
DROP FUNCTION application_counts_follow();
DROP TABLE application_counts;
