"""Merchant fees: what envoi keeps of each payment to a merchant.

A merchant's rate is basis points of the amount (150 = 1.5 %), rounded half
up to the cent, plus a fixed part. The database computes a payment's fee when
the payment is written (transfers_set_fee) and posts it to the FEE_REVENUE
system account when the payment completes; a payment its fee would take all
of is refused (fee_below_amount_refusal, and a CHECK). This module reads
fees and sets rates.
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
