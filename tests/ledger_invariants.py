"""The ledger's invariants, checked straight in PostgreSQL after every test."""
import psycopg

CHECKS = {
    "all postings sum to zero per currency":
        "SELECT currency_code FROM postings GROUP BY currency_code HAVING sum(amount_cents) <> 0",
    "the postings of each transfer sum to zero":
        "SELECT transfer_id FROM postings GROUP BY transfer_id HAVING sum(amount_cents) <> 0",
    "completed transfers have exactly their two legs, others none":
        "SELECT t.transfer_id FROM transfers t LEFT JOIN postings p USING (transfer_id)"
        " GROUP BY t.transfer_id, t.state, t.amount_cents, t.from_account_id, t.to_account_id"
        " HAVING count(p.*) <> CASE WHEN t.state = 'COMPLETED' THEN 2 ELSE 0 END"
        " OR (t.state = 'COMPLETED' AND ("
        "   sum(p.amount_cents) FILTER (WHERE p.account_id = t.to_account_id) <> t.amount_cents"
        "   OR sum(p.amount_cents) FILTER (WHERE p.account_id = t.from_account_id)"
        "      <> -t.amount_cents))",
    "each balance is the sum of its postings":
        "SELECT a.account_id FROM accounts a LEFT JOIN postings p USING (account_id)"
        " GROUP BY a.account_id HAVING a.balance_cents <> coalesce(sum(p.amount_cents), 0)",
    "each held amount is the sum of its pending transfers":
        "SELECT a.account_id FROM accounts a LEFT JOIN transfers t"
        " ON t.from_account_id = a.account_id AND t.state = 'PENDING_CONFIRMATION'"
        " GROUP BY a.account_id HAVING a.held_cents <> coalesce(sum(t.amount_cents), 0)",
    "no balance below its floor":
        "SELECT account_id FROM accounts WHERE balance_cents - held_cents < floor_cents",
    "one outbox event per state a transfer went through":
        "SELECT t.transfer_id FROM transfers t LEFT JOIN outbox_events e USING (transfer_id)"
        " GROUP BY t.transfer_id, t.kind, t.state HAVING count(e.*) <>"
        " CASE WHEN t.kind = 'FUNDING' OR t.state = 'PENDING_CONFIRMATION' THEN 1 ELSE 2 END",
}


def assert_ledger_invariants(database: str | psycopg.Connection) -> None:
    """Check on a database URL, or inside an open connection's transaction."""
    if isinstance(database, str):
        with psycopg.connect(database) as conn:
            return assert_ledger_invariants(conn)
    broken = {name: rows for name, sql in CHECKS.items()
              if (rows := database.execute(sql).fetchall())}
    assert not broken, f"ledger invariants broken: {broken}"
