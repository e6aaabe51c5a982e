"""Balances in the past (GetBalance's as_of) and statements (ListStatement,
`envoi statement`), summed from the postings: exact at the microsecond,
final once given, reconciled across pages (docs/statements.md)."""

import csv
import datetime
import io
import json
import subprocess
import sys
import threading

import psycopg
import pytest
from concurrently import run_together

from envoi.client import errors
from envoi.core.ledger import statements, transfers
from envoi.core.testing import settings_with
from envoi.v1 import transfer_pb2

CODE = "123456"
US = datetime.timedelta(microseconds=1)
UTC = datetime.timezone.utc


@pytest.fixture(scope="module")
def settings(database_url):
    """A short margin (the client's retries outlast it), so that the tests
    below see the open transactions' rule at work
    (test_a_time_within_the_margin_is_not_settled sees the margin's)."""
    return settings_with(database_url, history_settle_s=0.05)


def utc(stamp) -> datetime.datetime:
    return stamp.ToDatetime(UTC)


def balance_at(client, account_id, as_of) -> int:
    return client.get_balance(account_id, as_of=as_of).balance.amount_cents


def pay(wallet, payer, payee, amount_cents, memo=""):
    pending = wallet.initiate_transfer(payer, payee, amount_cents, memo=memo)
    return wallet.confirm_transfer(pending.transfer_id, CODE)


@pytest.fixture
def history(admin, wallet, open_account):
    """An account with four postings at known times: (account id, the account's
    create time, [(time, balance after)], the counterparty's id)."""
    friend = open_account(balance_cents=5_000, name="Friend")
    account = admin.open_account("PERSON", "Statement holder", CODE)
    account_id = account.account_id
    credit = admin.credit_account(account_id, 10_000, memo="salary").transfer
    sent = pay(wallet, account_id, friend, 1_500, memo="dinner")
    received = pay(wallet, friend, account_id, 250, memo="my share")
    sent_again = pay(wallet, account_id, friend, 700)
    times = [utc(t.resolve_time) for t in (credit, sent, received, sent_again)]
    return (
        account_id,
        utc(account.create_time),
        list(zip(times, [10_000, 8_500, 8_750, 8_050], strict=True)),
        friend,
    )


def test_a_postings_time_is_its_transfers_resolve_time(history, db):
    account_id, _, moves, _ = history
    rows = db.execute(
        "SELECT p.create_time, t.resolve_time FROM postings p JOIN transfers t USING (transfer_id)"
        " WHERE p.account_id = %s ORDER BY p.posting_id",
        (account_id,),
    ).fetchall()
    assert [posted for posted, _ in rows] == [resolved for _, resolved in rows]
    assert [posted for posted, _ in rows] == [time for time, _ in moves]


def test_the_balance_as_of_a_time_counts_exactly_the_postings_before_it(history, admin):
    account_id, created, moves, _ = history
    before = 0
    for time, after in moves:
        assert balance_at(admin, account_id, time) == before  # the posting at `time`: not yet
        assert balance_at(admin, account_id, time + US) == after
        before = after
    assert before == admin.get_balance(account_id).balance.amount_cents


def test_the_balance_before_the_account_existed_is_zero(history, admin):
    account_id, created, _, _ = history
    assert balance_at(admin, account_id, created - datetime.timedelta(days=400)) == 0


def test_a_hot_accounts_past_balance_counts_the_credits_not_yet_folded(open_account, wallet, admin):
    """An association's credits wait in deferred_credits before its balance_cents
    takes them in (docs/ledger.md): its postings hold them from the start."""
    association, payer = open_account("ASSOCIATION"), open_account(balance_cents=5_000)
    donations = [pay(wallet, payer, association, cents) for cents in (1_234, 766)]
    after_first = utc(donations[0].resolve_time) + US
    assert balance_at(admin, association, after_first) == 1_234
    now = balance_at(admin, association, utc(donations[1].resolve_time) + US)
    assert now == admin.get_balance(association).balance.amount_cents == 2_000


def test_a_balance_in_the_past_has_no_held_or_available(history, admin):
    account_id, _, moves, _ = history
    balance = admin.get_balance(account_id, as_of=moves[0][0] + US)
    assert balance.balance.amount_cents == 10_000 and balance.balance.currency_code == "EUR"
    assert not balance.HasField("held") and not balance.HasField("available")


def test_a_balance_in_the_future_is_refused(history, admin):
    account_id, _, _, _ = history
    future = datetime.datetime.now(UTC) + datetime.timedelta(hours=1)
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.get_balance(account_id, as_of=future)
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert "as_of" in refused.value.field_violations


def test_a_time_between_two_microseconds_is_refused(history, admin):
    from envoi.v1 import account_service_pb2

    account_id, _, moves, _ = history
    request = account_service_pb2.GetBalanceRequest(account_id=account_id)
    request.as_of.FromDatetime(moves[0][0])
    request.as_of.nanos += 500
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.call(admin.accounts.GetBalance, request)
    assert "as_of" in refused.value.field_violations


def test_no_answer_about_a_time_while_a_transaction_begun_before_it_is_open(
    server_database_url, settings, open_account, make_token, client_for, admin
):
    """The case that makes "exact" hard: a transaction that began before as_of
    commits a posting dated before it after as_of. Until it ends, as_of gets
    HISTORY_NOT_SETTLED, never a balance that would change."""
    account_id = open_account(balance_cents=1_000)
    once = client_for(make_token("admin"), max_attempts=1)  # no retries of UNAVAILABLE
    with psycopg.connect(server_database_url) as conn:  # as envoi serve connects
        began = conn.execute("SELECT now()").fetchone()[0]
        transfers.credit(conn, settings, account_id, 500, "EUR", "late", "admin")
        as_of = began + US  # the credit's postings are dated `began`: before as_of
        with pytest.raises(errors.HistoryNotSettled) as refused:
            once.get_balance(account_id, as_of=as_of)
        assert refused.value.code.name == "UNAVAILABLE"
        assert datetime.datetime.fromisoformat(refused.value.metadata["settled_time"]) <= began
        assert balance_at(admin, account_id, began) == 1_000  # before it: settled already
        conn.commit()
    assert balance_at(admin, account_id, as_of) == 1_500


def test_a_time_within_the_margin_is_not_settled(server_database_url):
    """A transaction takes its start time a moment before pg_stat_activity
    shows it: a time less than the margin ago is never answered."""
    with psycopg.connect(server_database_url, autocommit=True) as conn:
        now = conn.execute("SELECT clock_timestamp()").fetchone()[0]
        with pytest.raises(errors.HistoryNotSettled):
            statements.settled_before(conn, now, "as_of", margin_s=3600)
        statements.settled_before(conn, now - datetime.timedelta(hours=2), "as_of", 3600)


def lines_of(pages) -> list:
    return [line for page in pages for line in page.lines]


@pytest.mark.parametrize("page_size", [1, 2, 3, 500])
def test_a_statement_reconciles_across_pages_of_any_size(history, admin, page_size):
    account_id, created, moves, friend = history
    start, end = created, moves[-1][0] + US
    pages = list(admin.iter_statement(account_id, start, end, page_size=page_size))
    assert len(pages) == -(-4 // page_size)
    assert all(len(page.lines) <= page_size for page in pages)
    lines = lines_of(pages)
    assert [utc(line.post_time) for line in lines] == [time for time, _ in moves]
    assert [line.balance_after.amount_cents for line in lines] == [b for _, b in moves]
    assert [line.amount.amount_cents for line in lines] == [10_000, -1_500, 250, -700]
    for page in pages:  # the same ends on every page
        assert page.opening_balance.amount_cents == 0
        assert page.closing_balance.amount_cents == 8_050
        assert utc(page.end_time) == end and utc(page.start_time) == start
    assert sum(line.amount.amount_cents for line in lines) == 8_050
    dinner = lines[1]
    assert dinner.kind == transfer_pb2.TRANSFER_KIND_PAYMENT and dinner.memo == "dinner"
    assert dinner.counterparty_display_name == "Friend"
    assert dinner.counterparty_account_id == friend
    assert lines[0].kind == transfer_pb2.TRANSFER_KIND_FUNDING and lines[0].memo == "salary"


def test_a_statement_of_part_of_the_history_starts_and_ends_at_the_balances_then(history, admin):
    account_id, _, moves, _ = history
    start, end = moves[1][0], moves[3][0]  # the second and third postings; not the fourth
    pages = list(admin.iter_statement(account_id, start, end, page_size=1))
    lines = lines_of(pages)
    assert [line.amount.amount_cents for line in lines] == [-1_500, 250]
    opening, closing = pages[0].opening_balance, pages[0].closing_balance
    assert opening.amount_cents == balance_at(admin, account_id, start) == 10_000
    assert closing.amount_cents == balance_at(admin, account_id, end) == 8_750
    assert opening.amount_cents + sum(line.amount.amount_cents for line in lines) == 8_750


def test_an_empty_range_has_no_lines_and_equal_balances(history, admin):
    account_id, _, moves, _ = history
    at = moves[1][0] + US
    page = admin.list_statement(account_id, at, at)
    assert not page.lines and not page.next_page_token
    assert page.opening_balance.amount_cents == page.closing_balance.amount_cents == 8_500


def test_a_statement_without_an_end_runs_to_the_settled_time_on_every_page(history, admin, wallet):
    account_id, created, moves, friend = history
    balance_at(admin, account_id, moves[-1][0] + US)  # answered: settled past the history
    first = admin.list_statement(account_id, created, page_size=2)
    end = utc(first.end_time)
    assert end > moves[-1][0]
    pay(wallet, account_id, friend, 100)  # after the first page: not in this statement
    rest = admin.list_statement(account_id, created, page_size=2, page_token=first.next_page_token)
    assert utc(rest.end_time) == end
    assert [line.amount.amount_cents for line in rest.lines] == [250, -700]
    assert not rest.next_page_token and rest.closing_balance.amount_cents == 8_050


BAD_RANGES = {
    "end before start": (lambda t: (t, t - US), "end_time"),
    "over 366 days": (lambda t: (t - datetime.timedelta(days=367), t), "start_time"),
    "end in the future": (lambda t: (t, t + datetime.timedelta(days=1)), "end_time"),
}


@pytest.mark.parametrize("times, field", BAD_RANGES.values(), ids=BAD_RANGES)
def test_a_bad_range_is_refused_by_name(history, admin, times, field):
    account_id, _, moves, _ = history
    start, end = times(moves[-1][0])
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.list_statement(account_id, start, end)
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert field in refused.value.field_violations


def test_a_statement_needs_a_start(history, admin):
    from envoi.v1 import account_service_pb2

    request = account_service_pb2.ListStatementRequest(account_id=history[0])
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.call(admin.accounts.ListStatement, request)
    assert "start_time" in refused.value.field_violations


def test_a_page_token_works_only_with_its_own_statement(history, admin, open_account):
    account_id, created, moves, _ = history
    end = moves[-1][0] + US
    token = admin.list_statement(account_id, created, end, page_size=1).next_page_token
    for other in (
        lambda: admin.list_statement(account_id, created + US, end, page_token=token),
        lambda: admin.list_statement(open_account(), created, end, page_token=token),
        lambda: admin.list_statement(account_id, created, end, page_token=token[:-4] + "AAA="),
    ):
        with pytest.raises(errors.InvalidPageToken):
            other()


def test_a_merchant_reads_its_own_statement_only(merchant, open_account, wallet):
    merchant_id, merchant_client = merchant
    start = datetime.datetime.now(UTC) - datetime.timedelta(days=1)
    assert merchant_client.list_statement(merchant_id, start).account_id == merchant_id
    with pytest.raises(errors.PermissionDenied):
        merchant_client.list_statement(open_account(), start)
    with pytest.raises(errors.PermissionDenied):  # the wallet never reads a merchant's money
        wallet.list_statement(merchant_id, start)
    with pytest.raises(errors.PermissionDenied):
        wallet.get_balance(merchant_id, as_of=start)


def envoi_cli(grpc_addr, token, *args) -> subprocess.CompletedProcess:
    """`envoi ARGS` as a separate process, against the module's server."""
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        env={"ENVOI_TARGET": grpc_addr, "ENVOI_TOKEN": token, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_cli_writes_a_csv_that_reconciles(history, grpc_addr, make_token):
    account_id, created, moves, _ = history
    start, end = created.isoformat(), (moves[-1][0] + US).isoformat()
    done = envoi_cli(
        grpc_addr, make_token("admin"), "statement", account_id, "--from", start, "--to", end,
        "--page-size", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [row["row"] for row in rows] == ["OPENING", "LINE", "LINE", "LINE", "LINE", "CLOSING"]
    opening, lines, closing = rows[0], rows[1:-1], rows[-1]
    assert opening["balance_after_cents"] == "0" and closing["balance_after_cents"] == "8050"
    assert closing["balance_after"] == "80.50" and closing["currency_code"] == "EUR"
    assert [int(row["amount_cents"]) for row in lines] == [10_000, -1_500, 250, -700]
    assert lines[1]["amount"] == "-15.00" and lines[1]["memo"] == "dinner"
    assert lines[1]["kind"] == "PAYMENT" and lines[1]["counterparty"] == "Friend"
    assert int(opening["balance_after_cents"]) + sum(int(r["amount_cents"]) for r in lines) == 8_050


def test_the_cli_writes_one_json_document(history, grpc_addr, make_token):
    account_id, created, moves, _ = history
    done = envoi_cli(
        grpc_addr, make_token("admin"), "statement", account_id, "--from", created.isoformat(),
        "--to", (moves[-1][0] + US).isoformat(), "--format", "json", "--page-size", "1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    assert document["account_id"] == account_id
    assert document["opening_balance"]["amount_cents"] == "0"  # int64: a string in proto3 JSON
    assert document["closing_balance"]["amount_cents"] == "8050"
    assert [line["memo"] for line in document["lines"]] == ["salary", "dinner", "my share", ""]


def test_the_cli_reports_a_refusal_as_json_on_stderr(history, grpc_addr, make_token):
    account_id, created, _, _ = history
    done = envoi_cli(
        grpc_addr, make_token("admin"), "statement", account_id, "--from", created.isoformat(),
        "--to", (created - US).isoformat(),
    )  # fmt: skip
    assert done.returncode == 1 and not done.stdout
    assert json.loads(done.stderr)["error"]["reason"] == "INVALID_ARGUMENT"


def test_a_balance_in_the_past_of_a_busy_account_reads_the_index_alone(open_account, admin, db):
    """6,000 postings of one account in 6 batches, among the session's others:
    the sum before the 4th batch is an index-only scan of postings_account_time."""
    bank, other = open_account("SETTLEMENT", balance_cents=100_000), open_account("SETTLEMENT")
    times = []
    for _ in range(6):
        leg = {"from_account_id": bank, "to_account_id": other, "amount_cents": 1}
        admin.create_transfers([leg] * 1_000)
        last = "SELECT max(create_time) FROM postings WHERE account_id = %s"
        times.append(db.execute(last, (bank,)).fetchone()[0])
    db.execute("VACUUM ANALYZE postings")
    explain = "EXPLAIN (FORMAT JSON) " + statements.SUM_BEFORE_SQL
    plan = psycopg.ClientCursor(db).execute(explain, {"account": bank, "time": times[3]})
    text = json.dumps(plan.fetchone()[0])
    assert '"Index Name": "postings_account_time"' in text
    assert '"Node Type": "Index Only Scan"' in text and "Seq Scan" not in text
    assert balance_at(admin, bank, times[3]) == 100_000 - 3_000
    assert balance_at(admin, bank, times[3] + US) == 100_000 - 4_000


def test_answers_given_while_money_moves_never_change(open_account, wallet, admin):
    """Real threads pay back and forth while another reads the statement up
    to the settled time, and balances at it: once all is done, every answer
    given is still the answer."""
    alice = open_account(balance_cents=50_000, tier="VERIFIED")
    bob = open_account(balance_cents=50_000, tier="VERIFIED")
    start = utc(admin.get_account(alice).create_time)
    done = threading.Event()
    answers = []

    def payer(payer_id, payee_id):
        def pay_often():
            for _ in range(15):
                pay(wallet, payer_id, payee_id, 100)
            return "paid"

        return pay_often

    def reader():
        while not done.is_set():
            try:
                page = admin.list_statement(alice, start)
                end = utc(page.end_time)
                answers.append((end, page.closing_balance.amount_cents))
                answers.append((end - US, balance_at(admin, alice, end - US)))
            except errors.HistoryNotSettled:
                continue
        return "read"

    def payers_then_stop():
        try:
            return run_together([payer(alice, bob), payer(bob, alice), payer(alice, bob)])
        finally:
            done.set()

    paid, read = run_together([payers_then_stop, reader])
    assert paid == ["paid"] * 3 and read == "read"
    assert answers
    for time, cents in answers:
        assert balance_at(admin, alice, time) == cents, time
    # The statement up to the last of them says the same, line by line.
    last = max(time for time, _ in answers)
    pages = list(admin.iter_statement(alice, start, last, page_size=7))
    lines = lines_of(pages)
    opening, closing = pages[0].opening_balance.amount_cents, pages[0].closing_balance.amount_cents
    assert opening + sum(line.amount.amount_cents for line in lines) == closing
    assert closing == balance_at(admin, alice, last)
    for time, cents in answers:
        before = [line for line in lines if utc(line.post_time) < time]
        assert (before[-1].balance_after.amount_cents if before else opening) == cents


def test_a_later_page_starts_in_the_index_where_the_last_ended(open_account, admin, db):
    """Each page reads its own lines, not those of the pages before it."""
    bank, other = open_account("SETTLEMENT", balance_cents=100_000), open_account("SETTLEMENT")
    for _ in range(3):
        admin.create_transfers(
            [{"from_account_id": bank, "to_account_id": other, "amount_cents": 1}] * 1_000
        )
    db.execute("VACUUM ANALYZE postings")
    row = db.execute(
        "SELECT create_time, posting_id FROM postings WHERE account_id = %s"
        " ORDER BY create_time, posting_id OFFSET 2000 LIMIT 1",
        (bank,),
    ).fetchone()
    params = {
        "account": bank,
        "start": row[0] - datetime.timedelta(days=1),
        "end": row[0] + datetime.timedelta(days=1),
        "after_time": row[0],
        "after_posting_id": row[1],
        "limit": 11,
    }
    sql = statements.LINES_SQL + statements.AFTER_POSITION_SQL + statements.LINES_ORDER_SQL
    plan = psycopg.ClientCursor(db).execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
    scans = [
        node
        for node in walk(plan.fetchone()[0][0]["Plan"])
        if node.get("Relation Name") == "postings"
    ]
    assert [scan["Index Name"] for scan in scans] == ["postings_account_time"]
    assert scans[0]["Actual Rows"] <= 11  # not the 2,000 lines before the page


def walk(node):
    yield node
    for child in node.get("Plans", []):
        yield from walk(child)


def test_the_cli_reads_a_balance_in_the_past(history, grpc_addr, make_token):
    account_id, _, moves, _ = history
    as_of = (moves[1][0] + US).isoformat()
    done = envoi_cli(
        grpc_addr, make_token("admin"), "account", "balance", account_id, "--as-of", as_of
    )
    assert done.returncode == 0, done.stderr
    balance = json.loads(done.stdout)
    assert balance["balance"] == {"currency_code": "EUR", "amount_cents": "8500"}
