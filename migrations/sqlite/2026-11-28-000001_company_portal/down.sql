DROP INDEX company_contracts_status_idx;
DROP INDEX company_contracts_valid_from_idx;
ALTER TABLE company_contracts DROP COLUMN search_text;
DROP TABLE customer_codes;
DROP TABLE company_memberships;
