DROP INDEX subscriptions_contract_validity_idx;
DROP TABLE statement_items;
DROP TABLE statements;
ALTER TABLE company_contracts DROP COLUMN employer_share_value;
ALTER TABLE company_contracts DROP COLUMN employer_share_kind;
DROP TABLE prices;
