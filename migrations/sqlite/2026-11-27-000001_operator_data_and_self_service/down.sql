DROP TABLE subscriptions;
DROP TABLE consent_changes;
DROP TABLE customers;
DROP TABLE company_contracts;
DROP TABLE companies;
