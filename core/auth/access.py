"""Which accounts and transfers a caller may reach, beyond its role (roles.py).

- A merchant token reaches its own account, and the transfers it is party to.
- A wallet token acts for people and associations, never for a merchant's
  money: that takes the merchant's own token.
- A channel token reads only the transfers its channel started, and starts
  payments only from an identity of its own network: the author of the post.
- A wallet token reads a transfer only when a person or an association is a
  side of it: those between merchants (or from envoi's funding to one) are
  the merchants' business.
- Settlement accounts are envoi's own: only an admin reads them.
"""

import functools

from envoi.client import errors
from envoi.core.auth.caller import Caller
from envoi.core.enums import AccountKind, Role


def require_own_account(caller: Caller, account_id: str) -> None:
    if caller.role == Role.MERCHANT and account_id != caller.merchant_account_id:
        raise errors.PermissionDenied("a merchant token reaches only its own account")


def require_account_access(caller: Caller, account_kind: str) -> None:
    """Before reading an account of this kind at all."""
    if caller.role != Role.ADMIN and account_kind == AccountKind.SETTLEMENT:
        raise errors.PermissionDenied("a settlement account is envoi's own: an admin's to read")


def require_money_access(caller: Caller, account_kind: str) -> None:
    """Before reading or moving the money of an account of this kind."""
    require_account_access(caller, account_kind)
    if caller.role == Role.WALLET and account_kind == AccountKind.MERCHANT:
        raise errors.PermissionDenied(
            "a merchant account's money is reached only with its merchant token"
        )


@functools.cache
def money_refusals(role: str) -> dict[str, str]:
    """Why a caller of `role` may not move the money of each kind of account it may
    not (require_money_access), by kind: what the ledger's SQL operations refuse."""
    refusals = {}
    for kind in AccountKind:
        try:
            require_money_access(Caller(token_id="", role=role), kind)
        except errors.PermissionDenied as denied:
            refusals[kind.value] = denied.message
    return refusals


def require_party(caller: Caller, transfer: dict, *, may_be_recipient: bool = True) -> None:
    if caller.role == Role.MERCHANT:
        sides = {str(transfer["from_account_id"])}
        if may_be_recipient:
            sides.add(str(transfer["to_account_id"]))
        if caller.merchant_account_id not in sides:
            raise errors.PermissionDenied("this transfer is not this merchant's")
    elif caller.role == Role.CHANNEL and transfer["initiated_by"] != caller.principal:
        raise errors.PermissionDenied("a channel reads only the transfers it started")


# The kinds of account the wallet backend acts for.
WALLET_KINDS = ("PERSON", "ASSOCIATION")


def require_transfer_reader(caller: Caller, transfer: dict) -> None:
    """Before showing a transfer (read with its sides' kinds) to the caller."""
    require_party(caller, transfer)
    if caller.role == Role.WALLET and not {transfer["from_kind"], transfer["to_kind"]} & set(
        WALLET_KINDS
    ):
        raise errors.PermissionDenied(
            "a transfer between merchants is read only with a merchant's token"
        )


def refund_credentials(caller: Caller, refunder_account_id: str) -> dict:
    """Who may give back a payment made to refunder_account_id: the merchant
    itself, with a key of the refunds scope (the one way money leaves an account
    without its owner's code), or the wallet for an association, with its code.
    The ledger call's arguments that say which (the kind of account refunded)."""
    if caller.role == Role.MERCHANT:
        if caller.merchant_account_id != refunder_account_id:
            raise errors.PermissionDenied("this payment was not made to this merchant")
        if "refunds" not in caller.scopes:
            raise errors.PermissionDenied(
                "this API key cannot refund: create one with the refunds scope (CreateApiKey)"
            )
        return {"refunder_kind": "MERCHANT"}
    return {"refunder_kind": "ASSOCIATION"}  # the wallet, with the association's code


def require_channel_poster(caller: Caller, from_identity) -> None:
    """A channel pays (or asks for money) only for the identity that posted (one
    of its network's, as the gateway read it from a signed delivery), never for
    an account id."""
    if caller.role != Role.CHANNEL:
        return
    if from_identity is None:
        raise errors.PermissionDenied(
            "a channel acts only for the identity that posted (from_identity, requester_identity)"
        )
    if from_identity.namespace != caller.channel_name:
        raise errors.PermissionDenied(
            f"the {caller.channel_name} channel speaks only for {caller.channel_name} identities"
        )
