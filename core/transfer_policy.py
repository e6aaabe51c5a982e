"""Limits on what one transfer may move: per-transfer caps by the kind of
recipient, and a daily cap per sender over any 24 hours.

check_caps runs with the sender's row locked, so concurrent requests see each
other's holds and cannot pass a cap together.
"""

from envoi.client import errors
from envoi.core.config import Settings


def per_transfer_cap_cents(settings: Settings, recipient_kind: str) -> int:
    if recipient_kind == "PERSON":
        return settings.max_to_person_cents
    return settings.max_to_organisation_cents


def check_caps(
    conn, settings: Settings, *, sender: dict, recipient: dict, amount_cents: int
) -> None:
    cap_cents = per_transfer_cap_cents(settings, recipient["kind"])
    if amount_cents > cap_cents:
        raise errors.LimitExceeded(
            f"a payment to a {recipient['kind'].lower()} is capped at {cap_cents} cents",
            metadata={"limit": "PER_TRANSFER", "limit_cents": str(cap_cents)},
        )
    if settings.daily_cap_cents:
        spent_cents = conn.execute(
            "SELECT coalesce(sum(amount_cents), 0) FROM transfers"
            " WHERE from_account_id = %s AND kind = 'PAYMENT'"
            " AND state IN ('PENDING_CONFIRMATION', 'COMPLETED', 'AWAITING_CLAIM')"
            " AND create_time > now() - interval '24 hours'",
            (sender["account_id"],),
        ).fetchone()[0]
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
