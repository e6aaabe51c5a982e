"""Transfers as a person reads them: who, how much (signed for them), in which state."""

from __future__ import annotations

from envoi.v1 import transfer_pb2
from envoi.wallet.money import money


def counterpart(transfer, incoming: bool, t) -> str:
    """The other side: @handle, a display name, or the collection."""
    if not incoming and transfer.collection_id:
        return t("collection")
    identity = transfer.from_identity if incoming else transfer.to_identity
    name = transfer.from_display_name if incoming else transfer.to_display_name
    if identity.handle:
        return "@" + identity.handle
    return name or t("someone")


def is_incoming(transfer, account_id: str) -> bool:
    return transfer.to_account_id == account_id and transfer.from_account_id != account_id


def row(transfer, account_id: str, lang: str, t) -> dict:
    incoming = is_incoming(transfer, account_id)
    cents = transfer.amount.amount_cents
    state = transfer_pb2.TransferState.Name(transfer.state).removeprefix("TRANSFER_STATE_")
    who = counterpart(transfer, incoming, t)
    return {
        "transfer_id": transfer.transfer_id,
        "amount": money(
            cents if incoming else -cents, transfer.amount.currency_code, lang, signed=True
        ),
        "party": t("from", who=who) if incoming else t("to", who=who),
        "state": t("state_" + state) if ("state_" + state) in _KNOWN else state.lower(),
        "when": transfer.create_time.ToDatetime().strftime("%Y-%m-%d %H:%M"),
        "memo": transfer.memo,
    }


_KNOWN = {
    "state_" + name
    for name in (
        "PENDING_CONFIRMATION",
        "COMPLETED",
        "CANCELLED",
        "EXPIRED",
        "AWAITING_CLAIM",
        "REFUNDED",
    )
}


def pending(transfer, lang: str, t) -> dict:
    payee = counterpart(transfer, False, t)
    amount = money(transfer.amount.amount_cents, transfer.amount.currency_code, lang)
    return {
        "transfer_id": transfer.transfer_id,
        "amount": amount,
        "payee": payee,
        "label": t(
            "requested_label" if transfer.requested else "to_confirm", amount=amount, payee=payee
        ),
        "requested": transfer.requested,
    }
