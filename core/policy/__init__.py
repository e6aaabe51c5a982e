"""Rules that decide whether a payment may happen and what it costs: transfer
policy and caps, merchant fees, business profiles, confirmation codes, rate limits."""
