"""Operators' and developers' tooling, imported only by the commands that use it:
`envoi bench`, `envoi torture`, the replicated PostgreSQL harness."""
