DROP TABLE bulk_uploads;
