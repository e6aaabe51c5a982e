"""Merchant fees: what envoi keeps of each payment to a merchant.

A merchant's rate is basis points of the amount (150 = 1.5 %), rounded half
up to the cent, plus a fixed part. The database computes a payment's fee when
the payment is written (transfers_set_fee, migration 0012) and posts it to
the FEE_REVENUE system account when the payment completes; this module only
refuses early what the database would refuse, with a clear error, and sets rates.
"""

from envoi.client import errors

MAX_BASIS_POINTS = 10_000  # 100 %
MAX_FIXED_CENTS = 100_000  # the same bound as the accounts.fee_fixed_cents CHECK


def fee_cents(conn, amount_cents: int, basis_points: int, fixed_cents: int) -> int:
    """The fee on an amount at a rate, by the database's own function."""
    return conn.execute(
        "SELECT merchant_fee_cents(%s::bigint, %s::integer, %s::bigint)",
        (amount_cents, basis_points, fixed_cents),
    ).fetchone()[0]


def check_fee_below_amount(conn, recipient: dict, amount_cents: int) -> None:
    """Refuse a payment to a merchant that its fee would take all of: the
    merchant must receive at least a cent (a CHECK on transfers says so too)."""
    if recipient["kind"] != "MERCHANT":
        return
    fee = fee_cents(conn, amount_cents, recipient["fee_basis_points"], recipient["fee_fixed_cents"])
    if fee >= amount_cents:
        raise errors.AmountBelowFee(
            f"the merchant's fee on this amount is {fee} cents: pay more than that",
            metadata={"fee_cents": str(fee)},
        )


def set_fees(conn, account: dict, basis_points: int, fixed_cents: int) -> None:
    """A merchant's rate for the payments initiated from now on (a pending
    payment keeps the fee it was initiated with). `account` is locked."""
    if account["kind"] != "MERCHANT":
        raise errors.InvalidArgument(
            "only merchants pay fees",
            field_violations={"account_id": "must be a MERCHANT account"},
        )
    conn.execute(
        "UPDATE accounts SET fee_basis_points = %s, fee_fixed_cents = %s WHERE account_id = %s",
        (basis_points, fixed_cents, account["account_id"]),
    )
