"""Merchant webhooks: endpoints and their secrets (endpoints.py, for the
server), and the `envoi webhooks` worker that delivers the outbox to them
(fan_out.py, deliveries.py, sender.py, worker.py). docs/merchants.md says what
merchants are promised, docs/security.md how it is kept safe."""
