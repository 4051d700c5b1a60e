DROP TRIGGER contract_counts_update ON company_contracts;
DROP TRIGGER contract_counts_insert_delete ON company_contracts;
DROP FUNCTION contract_counts_follow();
DROP TABLE contract_counts;
