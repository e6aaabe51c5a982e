-- Account tiers: each has its own limits (maximum balance, monthly outgoing),
-- set in configuration. An account is verified by an admin (after KYC).
ALTER TABLE accounts
    ADD COLUMN tier text NOT NULL DEFAULT 'UNVERIFIED' CHECK (tier IN ('UNVERIFIED', 'VERIFIED'));

-- Monthly outgoing sums a sender's payments since a time, like the daily cap.
-- (transfers_from_time already serves it.)
