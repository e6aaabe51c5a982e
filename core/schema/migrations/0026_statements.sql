-- Statements and balances in the past (issue 17, docs/statements.md): an
-- account's postings by time, for GetBalance's as_of (the sum of those dated
-- before it) and ListStatement (its lines in (time, posting_id) order). The
-- amount is in the index, so both sums read the index alone.
CREATE INDEX postings_account_time ON postings (account_id, create_time, posting_id)
    INCLUDE (amount_cents);
