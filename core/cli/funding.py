"""`envoi event list` (the outbox, for channels and admins), `envoi top-up get`,
`envoi payout get` and `envoi account withdraw` (money out to an IBAN)."""

from envoi.core.cli.api import api_command


def add_events(commands):
    event = commands.add_parser(
        "event", help="the event feed, oldest first (admin or channel token)"
    ).add_subparsers(dest="event_command", required=True, metavar="ACTION")
    p = api_command(
        event,
        "list",
        "one page of events after a cursor (the last event_id handled)",
        lambda c, a: c.list_events(a.after_cursor, page_size=a.page_size),
    )
    p.add_argument("--after-cursor", default="", help="default: from the first event")
    p.add_argument("--page-size", type=int, default=0)


def add_money_out_and_in(commands):
    for name, text, method, id_name in (
        ("top-up", "a card top-up (wallet or admin token)", "get_top_up", "top_up_id"),
        ("payout", "a withdrawal to an IBAN (wallet, merchant, admin)", "get_payout", "payout_id"),
    ):
        actions = commands.add_parser(name, help=text).add_subparsers(
            dest=f"{name}_command", required=True, metavar="ACTION"
        )
        p = api_command(
            actions,
            "get",
            f"show {text.split(' (')[0]} and its state",
            lambda c, a, method=method, id_name=id_name: getattr(c, method)(getattr(a, id_name)),
        )
        p.add_argument(id_name)


def add_withdraw(account_actions):
    p = api_command(
        account_actions,
        "withdraw",
        "wallet or merchant: send money out to an IBAN with the account's code; held"
        " until the provider settles it (envoi payout get)",
        lambda c, a: c.withdraw(
            a.account_id,
            a.amount_cents,
            iban=a.iban,
            beneficiary_name=a.beneficiary,
            code=a.code,
            provider=a.provider,
            currency_code=a.currency,
        ),
    )
    p.add_argument("account_id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--iban", required=True)
    p.add_argument("--beneficiary", required=True, help="the IBAN holder's name")
    p.add_argument("--code", required=True, help="the account's 6-digit code")
    p.add_argument("--provider", required=True, help="a payout provider (envoi plugins)")
    p.add_argument("--currency", default="EUR")
