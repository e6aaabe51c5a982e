"""`envoi account`: open, read, credit, verify, freeze and close accounts."""

from envoi.core.cli.api import api_command
from envoi.core.cli.funding import add_withdraw


def add_account(commands):
    from envoi.core.statement_export import parse_time

    account = commands.add_parser(
        "account", help="open, read, credit, verify, freeze and close accounts"
    ).add_subparsers(dest="account_command", required=True, metavar="ACTION")
    p = api_command(
        account,
        "open",
        "open an account",
        lambda c, a: c.open_account(a.kind, a.name, a.code, currency_code=a.currency),
    )
    p.add_argument(
        "--kind",
        default="PERSON",
        choices=["PERSON", "ASSOCIATION", "MERCHANT", "SETTLEMENT"],
        help="PERSON (the wallet's); the others need an admin token. SETTLEMENT: one of"
        " envoi's clearing accounts, moved only by batches (CreateTransfers)",
    )
    p.add_argument("--name", required=True, help="display name")
    p.add_argument("--code", required=True, help="the 6-digit confirmation code")
    p.add_argument("--currency", default="", help="ISO 4217 code (default: the server's)")
    p = api_command(account, "get", "show an account", lambda c, a: c.get_account(a.account_id))
    p.add_argument("account_id")
    p = api_command(
        account,
        "balance",
        "show balance, held, available (or a past balance)",
        lambda c, a: c.get_balance(a.account_id, as_of=a.as_of),
    )
    p.add_argument("account_id")
    p.add_argument(
        "--as-of",
        type=parse_time,
        help="the balance at this ISO 8601 time instead (held and available are not kept"
        " in the past); UTC without offset",
    )
    _add_account_money(account)
    _add_account_codes(account)
    _add_account_status(account)
    _add_account_verification(account)
    add_withdraw(account)


def _add_account_money(account):
    p = api_command(
        account,
        "credit",
        "admin: move money in from the funding account",
        lambda c, a: c.credit_account(
            a.account_id, a.amount_cents, currency_code=a.currency, memo=a.memo
        ),
    )
    p.add_argument("account_id")
    p.add_argument("--amount-cents", type=int, required=True)
    p.add_argument("--currency", default="EUR")
    p.add_argument("--memo", default="")
    p = api_command(
        account,
        "debit-mandate",
        "admin: let batches (CreateTransfers) debit a merchant or association, or stop",
        lambda c, a: c.set_debit_mandate(a.account_id, active=a.active, reason=a.reason),
    )
    p.add_argument("account_id")
    grant = p.add_mutually_exclusive_group(required=True)
    grant.add_argument("--grant", dest="active", action="store_true", help="record a mandate")
    grant.add_argument("--revoke", dest="active", action="store_false", help="revoke it")
    p.add_argument("--reason", required=True, help="why: kept with who and when (280 at most)")
    p = api_command(
        account,
        "fees",
        "admin: a merchant's fee on the payments initiated from now on",
        lambda c, a: c.set_merchant_fees(a.account_id, a.basis_points, a.fixed_cents),
    )
    p.add_argument("account_id")
    p.add_argument("--basis-points", type=int, required=True, help="of the amount: 150 = 1.5 %%")
    p.add_argument("--fixed-cents", type=int, default=0, help="added to each payment's fee")


def _add_account_codes(account):
    p = api_command(
        account,
        "change-code",
        "wallet: set a new code, given the current one (a wrong one counts toward the lock)",
        lambda c, a: c.change_code(a.account_id, a.current_code, a.code),
    )
    p.add_argument("account_id")
    p.add_argument("--current-code", required=True, help="the account's 6-digit code now")
    p.add_argument("--code", required=True, help="the new 6-digit code")
    p = api_command(
        account,
        "reset-code",
        "admin: set a forgotten or locked code; money out is held for"
        " ENVOI_CODE_RESET_HOLD_S (default 24 h) and the owner is told",
        lambda c, a: c.reset_code(a.account_id, a.code, a.reason),
    )
    p.add_argument("account_id")
    p.add_argument("--code", required=True, help="the new 6-digit code")
    p.add_argument("--reason", required=True, help="why, for the audit trail (1 to 500 characters)")
    p = api_command(
        account,
        "notifications",
        "how channels tell the owner about payments (the wallet shows everything)",
        lambda c, a: c.set_notification_preference(a.account_id, a.preference),
    )
    p.add_argument("account_id")
    p.add_argument("preference", choices=["PUBLIC_REPLY", "PRIVATE_MESSAGE", "APP_ONLY"])


def _add_account_status(account):
    for action, text, method in (
        (
            "freeze",
            "admin: no money leaves the account by any path until unfrozen (money in"
            " still arrives); the owner is told",
            "freeze_account",
        ),
        ("unfreeze", "admin: lift a freeze; the owner is told", "unfreeze_account"),
    ):
        p = api_command(
            account,
            action,
            text,
            lambda c, a, method=method: getattr(c, method)(a.account_id, a.reason),
        )
        p.add_argument("account_id")
        p.add_argument("--reason", required=True, help="why, kept (1 to 280 characters)")
    p = api_command(
        account,
        "close",
        "close an empty account for good (its identities are unlinked): the owner"
        " with --code (wallet token), or an admin with --reason",
        lambda c, a: c.close_account(a.account_id, code=a.code, reason=a.reason),
    )
    p.add_argument("account_id")
    p.add_argument("--code", default="", help="the owner's 6-digit code (wallet token)")
    p.add_argument("--reason", default="", help="why (an admin's: required; 280 at most)")


def _add_account_verification(account):
    p = api_command(
        account,
        "verify-business",
        "admin: record a merchant's or an association's legal identity (SIREN or SIRET)"
        " as checked, so that it may be paid (RECIPIENT_NOT_VERIFIED until then)",
        lambda c, a: c.set_business_profile(
            a.account_id,
            a.legal_name,
            a.siren,
            registration_country_code=a.country,
            verified=not a.withdraw,
        ),
    )
    p.add_argument("account_id")
    p.add_argument("--legal-name", required=True, help="as registered, e.g. 'Boulangerie SAS'")
    p.add_argument(
        "--siren",
        required=True,
        help="its SIREN (9 digits) or SIRET (14), with a valid check digit (732829320 is one"
        " for tests); spaces are ignored",
        type=lambda text: "".join(text.split()),
    )
    p.add_argument("--country", default="FR", help="the registry's country (default: FR)")
    p.add_argument(
        "--withdraw",
        action="store_true",
        help="record it as not verified: payments to it are refused again",
    )
    p = api_command(
        account,
        "tier",
        "admin: the account's tier, which sets its limits: VERIFIED once its holder's"
        " identity is checked (KYC). Not a business's verification (verify-business)",
        lambda c, a: c.set_account_tier(a.account_id, a.tier),
    )
    p.add_argument("account_id")
    p.add_argument("tier", choices=["UNVERIFIED", "VERIFIED"])
