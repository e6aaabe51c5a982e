"""The API's other services as commands: `envoi identity` (link a social
identity to an account), `envoi collection`, `envoi request`, `envoi api-key`
and `envoi webhook`."""

from envoi.core.cli.api import api_command
from envoi.core.cli.output import WITH_SECRET
from envoi.v1 import identity_pb2


def _identity(args) -> identity_pb2.Identity:
    return identity_pb2.Identity(
        namespace=args.namespace, subject_id=args.subject_id, handle=args.handle
    )


def _identity_options(p) -> None:
    p.add_argument("--namespace", required=True, help="the channel's namespace, e.g. twitter")
    p.add_argument(
        "--subject-id", required=True, help="the network's stable user id (on X, numeric)"
    )
    p.add_argument("--handle", default="", help="the handle, without @ (informational)")


def add_identity(commands):
    identity = commands.add_parser(
        "identity", help="link, unlink and resolve social identities (who posts for an account)"
    ).add_subparsers(dest="identity_command", required=True, metavar="ACTION")
    for action, text, method in (
        ("link", "link an identity to the account: its posts pay from it", "link_identity"),
        ("unlink", "unlink an identity from the account", "unlink_identity"),
    ):
        p = api_command(
            identity,
            action,
            text,
            lambda c, a, method=method: getattr(c, method)(a.account_id, _identity(a)),
        )
        p.add_argument("account_id")
        _identity_options(p)
    p = api_command(
        identity,
        "resolve",
        "the account an identity is linked to",
        lambda c, a: c.resolve_identity(_identity(a)),
    )
    _identity_options(p)


def add_collection(commands):
    collection = commands.add_parser(
        "collection", help="collections: a hashtag people give to (docs/collections.md)"
    ).add_subparsers(dest="collection_command", required=True, metavar="ACTION")
    p = api_command(
        collection,
        "create",
        "open a collection owned by an account",
        lambda c, a: c.create_collection(
            a.account_id, a.title, a.hashtag, target_cents=a.target_cents, currency_code=a.currency
        ),
    )
    p.add_argument("account_id", help="the owner, who receives the money at the close")
    p.add_argument("--title", required=True)
    p.add_argument("--hashtag", required=True, help="without #, e.g. TelethonACF")
    p.add_argument("--target-cents", type=int, default=None)
    p.add_argument("--currency", default="EUR")
    p = api_command(
        collection,
        "list",
        "an owner's collections",
        lambda c, a: c.list_collections(a.account_id, page_token=a.page_token),
    )
    p.add_argument("account_id")
    p.add_argument("--page-token", default="")
    for action, text, method in (
        ("get", "show a collection", "get_collection"),
        ("close", "close it: what was given goes to its owner", "close_collection"),
        ("cancel", "cancel it: every gift is paid back", "cancel_collection"),
    ):
        p = api_command(
            collection,
            action,
            text,
            lambda c, a, method=method: getattr(c, method)(a.collection_id),
        )
        p.add_argument("collection_id")


def add_request(commands):
    request = commands.add_parser(
        "request", help="ask someone to pay: a merchant's payment request, a person's"
    ).add_subparsers(dest="request_command", required=True, metavar="ACTION")
    p = api_command(
        request,
        "payment",
        "a merchant asks a payer for an order's payment (docs/merchants.md)",
        lambda c, a: c.request_payment(
            a.account_id, a.payer_id, a.amount_cents, merchant_reference=a.reference, memo=a.memo
        ),
    )
    p.add_argument("account_id", help="the merchant's account")
    p.add_argument("--payer", dest="payer_id", required=True, help="the payer's account id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--reference", required=True, help="the merchant's order reference")
    p.add_argument("--memo", default="")
    p = api_command(
        request,
        "money",
        "a person asks another for money (docs/people.md)",
        lambda c, a: c.request_money(a.account_id, a.payer_id, a.amount_cents, memo=a.memo),
    )
    p.add_argument("account_id", help="who asks, and is paid")
    p.add_argument("--payer", dest="payer_id", required=True, help="the payer's account id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--memo", default="")


def add_api_key(commands):
    api_key = commands.add_parser(
        "api-key", help="a merchant's API keys (docs/merchants.md)"
    ).add_subparsers(dest="api_key_command", required=True, metavar="ACTION")
    p = api_command(
        api_key,
        "create",
        "a new key; its secret is printed once",
        lambda c, a: c.create_api_key(a.account_id, label=a.label, scopes=tuple(a.scope)),
        outputs=WITH_SECRET,
    )
    p.add_argument("account_id", help="the merchant's account")
    p.add_argument("--label", default="")
    p.add_argument("--scope", action="append", default=[], choices=["refunds"])
    p = api_command(
        api_key, "list", "the merchant's keys", lambda c, a: c.list_api_keys(a.account_id)
    )
    p.add_argument("account_id")
    p = api_command(
        api_key,
        "rotate",
        "replace a key; the old one stops after --grace-period-s",
        lambda c, a: c.rotate_api_key(a.api_key_id, grace_period_s=a.grace_period_s),
        outputs=WITH_SECRET,
    )
    p.add_argument("api_key_id")
    p.add_argument("--grace-period-s", type=int, default=0)
    p = api_command(
        api_key, "revoke", "stop a key at once", lambda c, a: c.revoke_api_key(a.api_key_id)
    )
    p.add_argument("api_key_id")


def add_webhook(commands):
    webhook = commands.add_parser(
        "webhook", help="a merchant's webhook endpoints and deliveries"
    ).add_subparsers(dest="webhook_command", required=True, metavar="ACTION")
    p = api_command(
        webhook,
        "create",
        "an endpoint for the event types given; its secret is printed once",
        lambda c, a: c.create_webhook_endpoint(a.account_id, a.url, a.event),
        outputs=WITH_SECRET,
    )
    p.add_argument("account_id")
    p.add_argument("--url", required=True, help="https URL")
    p.add_argument(
        "--event", action="append", required=True, help="an event type, e.g. TRANSFER_COMPLETED"
    )
    p = api_command(
        webhook,
        "list",
        "the account's endpoints",
        lambda c, a: c.list_webhook_endpoints(a.account_id),
    )
    p.add_argument("account_id")
    for action, text, method in (
        ("delete", "delete an endpoint", "delete_webhook_endpoint"),
        ("rotate-secret", "a new secret, printed once", "rotate_webhook_secret"),
        ("deliveries", "the endpoint's deliveries, newest first", "list_webhook_deliveries"),
    ):
        p = api_command(
            webhook, action, text, lambda c, a, method=method: getattr(c, method)(a.endpoint_id)
        )
        p.add_argument("endpoint_id")
    p = api_command(
        webhook, "redeliver", "queue a delivery again", lambda c, a: c.redeliver(a.delivery_id)
    )
    p.add_argument("delivery_id")
