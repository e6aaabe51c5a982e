"""The ledger: accounts, two-phase transfers, identities and escrow, the outbox,
and the operations built on them. Each runs inside a caller's transaction;
the money rules themselves are SQL (envoi.core.schema)."""
