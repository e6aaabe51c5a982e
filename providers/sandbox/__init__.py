"""The sandbox payment provider: test cards and test IBANs that always behave
the same way, and signed callbacks that a test sends when it wants. It moves
no real money; it loads only when ENVOI_SANDBOX_WEBHOOK_SECRET is set, which a
production server must never do (any test card would create money)."""
