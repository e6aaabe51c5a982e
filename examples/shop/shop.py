"""An example shop's checkout on envoi, using only envoi-client.

It asks a customer to pay for one order (PaymentRequestService.RequestPayment),
then follows the request on the shop's own event stream (WatchEvents) until
the customer confirms it in the wallet app (COMPLETED), declines it
(CANCELLED) or lets it expire (EXPIRED), and prints the outcome.

    export ENVOI_TARGET=localhost:50051 ENVOI_TOKEN=envoi_...  # or --target, --key
    python examples/shop/shop.py --account SHOP_ACCOUNT_ID --payer CUSTOMER_ACCOUNT_ID \\
        --order A-1001 --amount-cents 1250 --memo "2 croissants"

Run it again for the same order (after a crash, a lost connection) and it
follows the same request: the request_id is made from the order, so envoi
returns the first answer instead of asking twice. Exit status: 0 when the
order is paid, 1 when it was declined or expired, 2 on an error.
An operator verifies the shop's business first (README.md beside this file).
See docs/merchants.md.
"""

import argparse
import os
import sys

from envoi.client import EnvoiClient, errors
from envoi.v1 import identity_pb2, transfer_pb2

PAID, NOT_PAID, FAILED = 0, 1, 2
FINAL_STATES = {
    transfer_pb2.TRANSFER_STATE_COMPLETED: "COMPLETED",
    transfer_pb2.TRANSFER_STATE_CANCELLED: "CANCELLED",
    transfer_pb2.TRANSFER_STATE_EXPIRED: "EXPIRED",
}


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=(
            "Ask a customer to pay for an order with envoi, and wait until they confirm it"
            " in their wallet app (COMPLETED), decline it (CANCELLED) or let it expire"
            " (EXPIRED). Exit status 0 when paid, 1 when not, 2 on an error."
        )
    )
    parser.add_argument(
        "--target",
        default=os.environ.get("ENVOI_TARGET", "localhost:50051"),
        help="envoi's host:port (default: ENVOI_TARGET or localhost:50051)",
    )
    parser.add_argument(
        "--key",
        default=os.environ.get("ENVOI_TOKEN"),
        required=not os.environ.get("ENVOI_TOKEN"),
        help="the shop's API key, envoi_... (default: ENVOI_TOKEN)",
    )
    parser.add_argument("--account", required=True, help="the shop's merchant account id")
    payer = parser.add_mutually_exclusive_group(required=True)
    payer.add_argument("--payer", help="the customer's account id")
    payer.add_argument(
        "--payer-identity",
        metavar="NAMESPACE:SUBJECT_ID",
        help="the customer by a social identity they linked, e.g. twitter:1234",
    )
    parser.add_argument("--order", required=True, help="the shop's order id (merchant_reference)")
    parser.add_argument(
        "--amount-cents", type=int, required=True, help="in minor units: 1250 is 12.50"
    )
    parser.add_argument("--currency", default="EUR")
    parser.add_argument("--memo", default="", help="shown to the customer")
    parser.add_argument(
        "--expire-after-s",
        type=int,
        default=0,
        help="how long the customer has to confirm (60 to 604800; 0: the server's default)",
    )
    return parser.parse_args(argv)


def payer_of(args):
    if args.payer:
        return args.payer
    namespace, _, subject_id = args.payer_identity.partition(":")
    return identity_pb2.Identity(namespace=namespace, subject_id=subject_id)


def request_payment(shop: EnvoiClient, args):
    """The order's payment request: made now, or the one made before for it."""
    try:
        return shop.request_payment(
            args.account,
            payer_of(args),
            args.amount_cents,
            currency_code=args.currency,
            merchant_reference=args.order,
            memo=args.memo,
            expire_after_s=args.expire_after_s,
            # From the order: running the checkout again retries the same request.
            request_id=f"checkout:{args.order}",
        )
    except errors.PaymentRequestExists as exists:
        # Asked before under another request_id (say, by another till): follow that one.
        return shop.get_transfer(exists.metadata["transfer_id"])


def wait_for_outcome(shop: EnvoiClient, account_id: str, transfer_id: str) -> str:
    """Follow the shop's events until the request is resolved; its final state."""
    # Read first: it may have been resolved before the stream opened.
    state = shop.get_transfer(transfer_id).state
    if state in FINAL_STATES:
        return FINAL_STATES[state]
    # From the shop's first event: a real shop keeps the event_id of the last
    # event it handled and passes it as after_cursor, to read only what is new.
    with shop.watch_events(account_id) as events:
        for event in events:
            if event.transfer.transfer_id == transfer_id and event.transfer.state in FINAL_STATES:
                return FINAL_STATES[event.transfer.state]
    raise RuntimeError("the event stream ended")


def main(argv=None) -> int:
    args = parse_args(argv)
    with EnvoiClient(args.target, token=args.key) as shop:
        try:
            request = request_payment(shop, args)
            cents = args.amount_cents  # integer minor units: no float near money
            amount = f"{cents // 100}.{cents % 100:02d} {args.currency}"
            expiry = request.expire_time.ToDatetime().isoformat(timespec="seconds")
            print(
                f"order {args.order}: asked {amount}, transfer {request.transfer_id};"
                f" waiting for the customer until {expiry} UTC",
                flush=True,
            )
            outcome = wait_for_outcome(shop, args.account, request.transfer_id)
        except errors.EnvoiError as error:
            print(f"order {args.order}: error {error.reason}: {error.message}", file=sys.stderr)
            return FAILED
    print(f"order {args.order}: {outcome}", flush=True)
    return PAID if outcome == "COMPLETED" else NOT_PAID


if __name__ == "__main__":
    sys.exit(main())
