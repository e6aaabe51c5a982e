"""Limits on what one transfer may move: per-transfer caps by the kind of
recipient, a daily cap per sender over any 24 hours, and the limits of the
sender's and the recipient's tiers (monthly outgoing, maximum balance).

Each check runs with the row it is about locked (the sender's for what it
sends, the recipient's for what it receives), so concurrent requests see each
other and cannot pass a limit together.
"""

from envoi.client import errors
from envoi.core.config import Settings
from envoi.core.enums import AccountKind, AccountTier


def per_transfer_cap_cents(settings: Settings, recipient_kind: str) -> int:
    """The person cap for people (and escrow, which stands for one); the
    organisation cap for merchants and associations."""
    if recipient_kind == AccountKind.PERSON:
        return settings.max_to_person_cents
    return settings.max_to_organisation_cents


# Accounts that are paid only once an admin verified who they are.
KINDS_NEEDING_VERIFIED_PROFILE = (AccountKind.MERCHANT, AccountKind.ASSOCIATION)


def refuse_settlement(kind: str, field: str) -> None:
    """A settlement account is moved only by CreateTransfers batches and
    CreditAccount: no payment, payment request, collection or withdrawal."""
    if kind == AccountKind.SETTLEMENT:
        raise errors.PermissionDenied(
            f"{field} is a settlement account: it moves money only in CreateTransfers batches"
        )


def check_recipient_verified(account_id, kind: str, profile_verify_time) -> None:
    """Refuse a payment to a merchant or an association whose business profile
    (legal name, registration number) no admin has verified."""
    if kind in KINDS_NEEDING_VERIFIED_PROFILE and profile_verify_time is None:
        raise errors.RecipientNotVerified(
            f"this {kind.lower()} is not verified yet: it cannot be paid",
            metadata={"account_id": str(account_id)},
        )


def check_recipient_row_verified(recipient: dict) -> None:
    """check_recipient_verified of an account row."""
    check_recipient_verified(
        recipient["account_id"], recipient["kind"], recipient["profile_verify_time"]
    )


def tier_limits_cents(settings: Settings, tier: str) -> tuple[int, int]:
    """(maximum balance, monthly outgoing) of a tier; 0 means no limit."""
    if tier == AccountTier.VERIFIED:
        return settings.verified_max_balance_cents, settings.verified_monthly_out_cents
    return settings.unverified_max_balance_cents, settings.unverified_monthly_out_cents


def fits_max_balance(settings: Settings, account: dict, incoming_cents: int) -> bool:
    if account.get("credits_deferred"):
        # An account that collects (an association) has no maximum balance:
        # checking one would need its row locked for every donation.
        return True
    if account.get("kind") == AccountKind.SETTLEMENT:
        return True  # envoi's own clearing money: no tier limits it
    max_balance_cents, _ = tier_limits_cents(settings, account["tier"])
    return not max_balance_cents or account["balance_cents"] + incoming_cents <= max_balance_cents


def check_max_balance(settings: Settings, account: dict, incoming_cents: int) -> None:
    """Refuse money that would take an account over its tier's maximum balance."""
    if not fits_max_balance(settings, account, incoming_cents):
        max_balance_cents, _ = tier_limits_cents(settings, account["tier"])
        raise errors.LimitExceeded(
            f"this would take the recipient over the maximum balance of its tier"
            f" ({max_balance_cents} cents)",
            metadata={
                "limit": "MAX_BALANCE",
                "limit_cents": str(max_balance_cents),
                "tier": account["tier"],
            },
        )


def _spent_since_cents(conn, account_id, interval: str) -> int:
    """What the account sent in payments (pending, done, or in escrow) lately.
    A payment request counts once confirmed, from its confirmation: it may
    have waited up to MAX_REQUEST_AGE before."""
    return conn.execute(
        "SELECT coalesce(sum(amount_cents), 0) FROM transfers"
        " WHERE from_account_id = %(account)s AND kind = 'PAYMENT'"
        " AND create_time > now() - %(interval)s::interval - %(max_request_age)s::interval"
        " AND CASE WHEN merchant_reference IS NULL"
        "     THEN state IN ('PENDING_CONFIRMATION', 'COMPLETED', 'AWAITING_CLAIM')"
        "          AND create_time > now() - %(interval)s::interval"
        "     ELSE state = 'COMPLETED' AND resolve_time > now() - %(interval)s::interval END",
        {"account": account_id, "interval": interval, "max_request_age": MAX_REQUEST_AGE},
    ).fetchone()[0]


# The longest a payment request waits for its payer (payment_requests.py).
MAX_REQUEST_AGE = "7 days"


def check_per_transfer_cap(settings: Settings, recipient_kind: str, amount_cents: int) -> None:
    cap_cents = per_transfer_cap_cents(settings, recipient_kind)
    if amount_cents > cap_cents:
        raise errors.LimitExceeded(
            f"a payment to a {recipient_kind.lower()} is capped at {cap_cents} cents",
            metadata={"limit": "PER_TRANSFER", "limit_cents": str(cap_cents)},
        )


def check_caps(
    conn,
    settings: Settings,
    *,
    sender: dict,
    recipient_kind: str,
    recipient_account: dict | None,
    amount_cents: int,
) -> None:
    """recipient_account: the recipient's row, None for escrow or a collection
    (neither has a maximum balance)."""
    check_per_transfer_cap(settings, recipient_kind, amount_cents)
    if settings.daily_cap_cents:
        spent_cents = _spent_since_cents(conn, sender["account_id"], "24 hours")
        if spent_cents + amount_cents > settings.daily_cap_cents:
            raise errors.LimitExceeded(
                f"this would take the sender over its daily cap of"
                f" {settings.daily_cap_cents} cents",
                metadata={
                    "limit": "DAILY",
                    "limit_cents": str(settings.daily_cap_cents),
                    "remaining_cents": str(max(settings.daily_cap_cents - spent_cents, 0)),
                },
            )
    check_monthly_outgoing(conn, settings, sender, amount_cents)
    if recipient_account is not None:  # refuse early what cannot arrive
        check_max_balance(settings, recipient_account, amount_cents)


def check_monthly_outgoing(conn, settings: Settings, sender: dict, amount_cents: int) -> None:
    """Payments and withdrawals over any 30 days, against the sender's tier limit."""
    _, monthly_out_cents = tier_limits_cents(settings, sender["tier"])
    if monthly_out_cents:
        spent_cents = _spent_since_cents(conn, sender["account_id"], "30 days")
        spent_cents += conn.execute(
            "SELECT coalesce(sum(amount_cents), 0) FROM payouts WHERE account_id = %s"
            " AND state IN ('PENDING', 'SETTLED') AND create_time > now() - interval '30 days'",
            (sender["account_id"],),
        ).fetchone()[0]
        if spent_cents + amount_cents > monthly_out_cents:
            raise errors.LimitExceeded(
                f"this would take the sender over the monthly outgoing limit of its tier"
                f" ({monthly_out_cents} cents over 30 days)",
                metadata={
                    "limit": "MONTHLY_OUTGOING",
                    "limit_cents": str(monthly_out_cents),
                    "remaining_cents": str(max(monthly_out_cents - spent_cents, 0)),
                    "tier": sender["tier"],
                },
            )


def check_channel_holds(conn, settings: Settings, sender: dict, amount_cents: int) -> None:
    """What channels may hold on one account (its row locked) while the owner has
    not answered: whoever controls a social account can then freeze only this
    much of its money. Pending payments expire after confirmation_timeout_s, so
    only that window of the sender's history is read."""
    count, held_cents = conn.execute(
        "SELECT count(*), coalesce(sum(amount_cents), 0) FROM transfers"
        " WHERE from_account_id = %s AND state = 'PENDING_CONFIRMATION'"
        " AND initiated_by LIKE 'channel:%%' AND expire_time > now()"
        " AND create_time > now() - make_interval(secs => %s)",
        (sender["account_id"], settings.confirmation_timeout_s),
    ).fetchone()
    if (
        count >= settings.channel_pending_max_count
        or held_cents + amount_cents > settings.channel_pending_max_cents
    ):
        raise errors.LimitExceeded(
            f"payments started from posts already wait for this account's code"
            f" ({count}, {held_cents} cents): confirm or decline them in the wallet first",
            metadata={
                "limit": "CHANNEL_PENDING",
                "max_count": str(settings.channel_pending_max_count),
                "limit_cents": str(settings.channel_pending_max_cents),
            },
        )
