"""Which accounts and transfers a caller may reach, beyond its role (roles.py).

- A merchant token reaches its own account, and the transfers it is party to.
- A wallet token acts for people and associations, never for a merchant's
  money: that takes the merchant's own token.
- A channel token reads only the transfers its channel started.
- Settlement accounts are envoi's own: only an admin reads them.
"""

from envoi.client import errors
from envoi.core.caller import Caller


def require_own_account(caller: Caller, account_id: str) -> None:
    if caller.role == "merchant" and account_id != caller.merchant_account_id:
        raise errors.PermissionDenied("a merchant token reaches only its own account")


def require_account_access(caller: Caller, account_kind: str) -> None:
    """Before reading an account of this kind at all."""
    if caller.role != "admin" and account_kind == "SETTLEMENT":
        raise errors.PermissionDenied("a settlement account is envoi's own: an admin's to read")


def require_money_access(caller: Caller, account_kind: str) -> None:
    """Before reading or moving the money of an account of this kind."""
    require_account_access(caller, account_kind)
    if caller.role == "wallet" and account_kind == "MERCHANT":
        raise errors.PermissionDenied(
            "a merchant account's money is reached only with its merchant token"
        )


def require_party(caller: Caller, transfer: dict, *, may_be_recipient: bool = True) -> None:
    if caller.role == "merchant":
        sides = {str(transfer["from_account_id"])}
        if may_be_recipient:
            sides.add(str(transfer["to_account_id"]))
        if caller.merchant_account_id not in sides:
            raise errors.PermissionDenied("this transfer is not this merchant's")
    elif caller.role == "channel" and transfer["initiated_by"] != caller.principal:
        raise errors.PermissionDenied("a channel reads only the transfers it started")
