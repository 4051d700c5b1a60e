-- How many contracts there are of each status and validity, kept by triggers on every
-- write. The operator's unfiltered contract list (and its `active` filter) needs the
-- total of every contract on each page: counting 100,000 rows walks a whole index,
-- summing these few groups is instant. The active rule is a condition on the grouped
-- columns, so both `active` answers are sums over groups too. An open end is kept as
-- 9999-12-31 so that it can be part of the key.
CREATE TABLE contract_counts (
    status TEXT NOT NULL,
    valid_from DATE NOT NULL,
    valid_to DATE NOT NULL,
    contracts BIGINT NOT NULL,
    PRIMARY KEY (status, valid_from, valid_to)
);

INSERT INTO contract_counts (status, valid_from, valid_to, contracts)
SELECT status, valid_from, COALESCE(valid_to, '9999-12-31'), count(*)
  FROM company_contracts
 WHERE true
 GROUP BY 1, 2, 3;

CREATE TRIGGER contract_counts_insert AFTER INSERT ON company_contracts
BEGIN
    INSERT INTO contract_counts (status, valid_from, valid_to, contracts)
    VALUES (NEW.status, NEW.valid_from, COALESCE(NEW.valid_to, '9999-12-31'), 1)
    ON CONFLICT (status, valid_from, valid_to) DO UPDATE SET contracts = contracts + 1;
END;

CREATE TRIGGER contract_counts_delete AFTER DELETE ON company_contracts
BEGIN
    UPDATE contract_counts SET contracts = contracts - 1
     WHERE status = OLD.status AND valid_from = OLD.valid_from
       AND valid_to = COALESCE(OLD.valid_to, '9999-12-31');
END;

-- Only a change of a grouped column moves a contract between groups.
CREATE TRIGGER contract_counts_update AFTER UPDATE OF status, valid_from, valid_to ON company_contracts
WHEN OLD.status IS NOT NEW.status OR OLD.valid_from IS NOT NEW.valid_from
     OR OLD.valid_to IS NOT NEW.valid_to
BEGIN
    UPDATE contract_counts SET contracts = contracts - 1
     WHERE status = OLD.status AND valid_from = OLD.valid_from
       AND valid_to = COALESCE(OLD.valid_to, '9999-12-31');
    INSERT INTO contract_counts (status, valid_from, valid_to, contracts)
    VALUES (NEW.status, NEW.valid_from, COALESCE(NEW.valid_to, '9999-12-31'), 1)
    ON CONFLICT (status, valid_from, valid_to) DO UPDATE SET contracts = contracts + 1;
END;

-- The free-text filter `q` is a substring of `search_text`. A LIKE '%…%' reads every
-- contract; FTS5's trigram tokenizer indexes every three characters, so a phrase of
-- three or more characters is found through the index (PostgreSQL has a trigram GIN
-- index instead). The index rows are keyed by an INTEGER PRIMARY KEY of their own:
-- contracts have a text id, and VACUUM may renumber a table's implicit rowids.
CREATE TABLE contract_search_keys (
    rowid INTEGER PRIMARY KEY,
    contract_id TEXT NOT NULL UNIQUE
);
CREATE VIRTUAL TABLE contract_search USING fts5(
    contract_id UNINDEXED,
    search_text,
    tokenize = 'trigram'
);

INSERT INTO contract_search_keys (contract_id) SELECT id FROM company_contracts WHERE true;
INSERT INTO contract_search (rowid, contract_id, search_text)
SELECT k.rowid, c.id, c.search_text
  FROM contract_search_keys k JOIN company_contracts c ON c.id = k.contract_id;

CREATE TRIGGER contract_search_insert AFTER INSERT ON company_contracts
BEGIN
    INSERT INTO contract_search_keys (contract_id) VALUES (NEW.id);
    INSERT INTO contract_search (rowid, contract_id, search_text)
    VALUES ((SELECT rowid FROM contract_search_keys WHERE contract_id = NEW.id),
            NEW.id, NEW.search_text);
END;

CREATE TRIGGER contract_search_update AFTER UPDATE OF search_text ON company_contracts
WHEN OLD.search_text IS NOT NEW.search_text
BEGIN
    UPDATE contract_search SET search_text = NEW.search_text
     WHERE rowid = (SELECT rowid FROM contract_search_keys WHERE contract_id = NEW.id);
END;

CREATE TRIGGER contract_search_delete AFTER DELETE ON company_contracts
BEGIN
    DELETE FROM contract_search
     WHERE rowid = (SELECT rowid FROM contract_search_keys WHERE contract_id = OLD.id);
    DELETE FROM contract_search_keys WHERE contract_id = OLD.id;
END;
