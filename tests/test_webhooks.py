"""Merchant webhooks end to end: WebhookService over the real gRPC server, and
the `envoi webhooks` worker as a real subprocess delivering to a real HTTP
receiver (tests/webhook_receiver.py) that succeeds, fails, hangs, answers a
huge body, redirects and recovers; the worker killed (SIGKILL) and restarted."""

import json
import signal
import ssl
import subprocess
import sys
import threading

import pytest
from server_process import envoi_env, wait_for
from test_tls import CertificateAuthority
from webhook_receiver import Receiver

from envoi.client import errors, verify_webhook
from envoi.client.webhooks import WebhookSignatureError
from envoi.core.testing import settings_with
from envoi.core.webhooks import endpoints, sender
from envoi.core.webhooks.settings import NUMBER_FIELDS
from envoi.v1 import event_pb2

WAIT_S = 60.0
WORKER_ENV = {
    "ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK": "1",
    "ENVOI_WEBHOOKS_POLL_S": "0.05",
    "ENVOI_WEBHOOKS_CONNECT_TIMEOUT_S": "1",
    "ENVOI_WEBHOOKS_TIMEOUT_S": "1",
    "ENVOI_WEBHOOKS_LEASE_S": "3",
    "ENVOI_WEBHOOKS_RETRY_BASE_S": "0.1",
    "ENVOI_WEBHOOKS_RETRY_MAX_S": "0.3",
    "ENVOI_WEBHOOKS_GIVE_UP_S": "5",
}


@pytest.fixture(scope="module")
def settings(database_url):
    return settings_with(database_url, webhooks_allow_http_loopback=True)


class WorkerProcess:
    def __init__(self, database_url: str, log_path):
        self.env = envoi_env(ENVOI_WEBHOOKS_DATABASE_URL=database_url, **WORKER_ENV)
        self.log_path = log_path
        self.process = None
        self.starts = 0

    def start(self):
        self.starts += 1
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "envoi.core.cli", "webhooks"],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait_until_delivering(self):
        """Its signal handlers are set and it reads the queue (its log says so
        once per start)."""
        wait_for(
            lambda: self.log_path.read_bytes().count(b"delivering") == self.starts,
            "the worker",
            WAIT_S,
        )

    def deliveries_logged(self) -> int:
        return self.log_path.read_bytes().count(b" envoi.webhooks delivery ")

    def kill(self):
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self):
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(30)


@pytest.fixture(scope="module")
def receiver():
    with Receiver() as running:
        yield running


@pytest.fixture(scope="module")
def worker(webhooks_database_url, tmp_path_factory, grpc_server):
    process = WorkerProcess(webhooks_database_url, tmp_path_factory.mktemp("wh") / "worker.log")
    process.start()
    process.wait_until_delivering()
    yield process
    process.stop()
    assert process.process.returncode == 0, process.log_path.read_text()[-2000:]


@pytest.fixture
def shop(open_account, make_token, client_for):
    """A new merchant account and a client with its key."""
    account_id = open_account("MERCHANT")
    return account_id, client_for(make_token("merchant", merchant_account_id=account_id))


def credits(admin, account_id: str, count: int, first_cents: int = 101) -> list[int]:
    """`count` credits to the account, each a TRANSFER_COMPLETED event; their amounts."""
    amounts = list(range(first_cents, first_cents + count))
    for amount in amounts:
        admin.credit_account(account_id, amount)
    return amounts


def amounts_of(requests) -> list[int]:
    return [int(json.loads(r.body)["event"]["transfer"]["amount"]["amountCents"]) for r in requests]


def unique(values: list) -> list:
    return list(dict.fromkeys(values))


def deliveries_of(client, endpoint_id: str) -> list:
    """All of the endpoint's deliveries, oldest first."""
    return list(reversed(client.list_webhook_deliveries(endpoint_id, page_size=100).deliveries))


def hook(shop, receiver, path: str, event_types=("TRANSFER_COMPLETED",)):
    """A new endpoint of the shop at the receiver's `path`: the create answer."""
    account_id, client = shop
    return client.create_webhook_endpoint(account_id, receiver.url(path), event_types)


def first_attempt(client, endpoint_id: str):
    """The first attempt of the endpoint's first delivery, once there is one."""
    wait_for(lambda: deliveries_of(client, endpoint_id)[0].attempts, "an attempt", WAIT_S)
    return deliveries_of(client, endpoint_id)[0].attempts[0]


def test_each_event_reaches_each_endpoint_once_in_order_signed(shop, receiver, worker, admin):
    account_id, client = shop
    created = hook(shop, receiver, "signed")
    assert created.secret.startswith("whsec_")
    amounts = credits(admin, account_id, 5)
    wait_for(lambda: len(receiver.answered_to("signed")) == 5, "5 deliveries", WAIT_S)
    got = receiver.requests_to("signed")
    assert amounts_of(got) == amounts
    for request in got:
        verify_webhook(request.body, request.headers["Envoi-Signature"], created.secret)
        assert request.headers["Envoi-Event-Id"] == request.event_id
        assert json.loads(request.body)["type"] == "EVENT_TYPE_TRANSFER_COMPLETED"
        with pytest.raises(WebhookSignatureError):
            verify_webhook(request.body + b" ", request.headers["Envoi-Signature"], created.secret)
    wait_for(
        lambda: all(d.state == 2 for d in deliveries_of(client, created.endpoint.endpoint_id)),
        "the deliveries marked SUCCEEDED",
        WAIT_S,
    )
    log = deliveries_of(client, created.endpoint.endpoint_id)
    assert [d.event_id for d in log] == [r.event_id for r in got]
    assert [(a.status_code, a.error_class) for d in log for a in d.attempts] == [(200, "")] * 5


def test_a_failing_endpoint_is_retried_in_order_until_it_recovers(shop, receiver, worker, admin):
    account_id, client = shop
    receiver.behaviours["flaky"] = "fail"
    endpoint = hook(shop, receiver, "flaky").endpoint
    amounts = credits(admin, account_id, 3)
    # The head is retried; the others wait behind it.
    wait_for(lambda: len(receiver.requests_to("flaky")) >= 3, "3 attempts", WAIT_S)
    assert set(amounts_of(receiver.requests_to("flaky"))) == {amounts[0]}
    receiver.behaviours["flaky"] = "ok"
    wait_for(lambda: len(receiver.answered_to("flaky")) == 3, "the recovery", WAIT_S)
    assert unique(amounts_of(receiver.requests_to("flaky"))) == amounts
    head = deliveries_of(client, endpoint.endpoint_id)[0]
    assert {a.status_code for a in head.attempts} == {500, 200}
    assert {a.error_class for a in head.attempts} == {"HTTP_STATUS", ""}
    assert "boom" in head.attempts[0].response_excerpt


def test_a_hanging_endpoint_slows_no_other(shop, receiver, worker, admin):
    account_id, client = shop
    receiver.behaviours["hangs"] = "hang"
    receiver.behaviours["huge"] = "huge"
    receiver.behaviours["redirects"] = "redirect"
    ids = {
        name: hook(shop, receiver, name).endpoint for name in ("hangs", "huge", "redirects", "fast")
    }
    amounts = credits(admin, account_id, 4)
    # All of them reach the fast endpoint while the hanging one holds its first.
    wait_for(lambda: len(receiver.answered_to("fast")) == 4, "the fast endpoint", WAIT_S)
    assert amounts_of(receiver.requests_to("fast")) == amounts
    wait_for(lambda: len(receiver.answered_to("huge")) == 4, "the huge answers", WAIT_S)
    assert amounts_of(receiver.requests_to("huge")) == amounts
    assert set(amounts_of(receiver.requests_to("hangs"))) == {amounts[0]}
    assert set(amounts_of(receiver.requests_to("redirects"))) == {amounts[0]}
    hang = first_attempt(client, ids["hangs"].endpoint_id)
    assert (hang.status_code, hang.error_class) == (0, "TIMEOUT")
    assert 900 <= hang.latency_ms < 5_000
    redirect = first_attempt(client, ids["redirects"].endpoint_id)
    assert (redirect.status_code, redirect.error_class) == (302, "REDIRECT")


def test_a_failing_endpoint_is_disabled_and_its_owner_told(shop, receiver, worker, admin, db):
    account_id, client = shop
    receiver.behaviours["down"] = "fail"
    down = hook(shop, receiver, "down")
    hook(shop, receiver, "told", ["WEBHOOK_ENDPOINT_DISABLED"])
    credits(admin, account_id, 2)
    wait_for(lambda: receiver.answered_to("told"), "the owner told", WAIT_S)
    told = json.loads(receiver.answered_to("told")[0].body)
    assert told["type"] == "EVENT_TYPE_WEBHOOK_ENDPOINT_DISABLED"
    assert told["event"]["webhookEndpointId"] == down.endpoint.endpoint_id
    listed = {e.endpoint_id: e for e in client.list_webhook_endpoints(account_id)}
    assert listed[down.endpoint.endpoint_id].HasField("disable_time")
    states = [d.state for d in deliveries_of(client, down.endpoint.endpoint_id)]
    assert states == [3, 1]  # the head FAILED; the next one is kept, never sent
    with pytest.raises(errors.WebhookEndpointDisabled):
        client.rotate_webhook_secret(down.endpoint.endpoint_id)
    # The account's own stream has it too, after the two credits.
    with client.watch_events(account_id, timeout_s=WAIT_S) as stream:
        events = [event for _, event in zip(range(3), stream, strict=False)]
    assert [e.type for e in events] == [
        event_pb2.EVENT_TYPE_TRANSFER_COMPLETED,
        event_pb2.EVENT_TYPE_TRANSFER_COMPLETED,
        event_pb2.EVENT_TYPE_WEBHOOK_ENDPOINT_DISABLED,
    ]
    assert events[2].webhook_endpoint_id == down.endpoint.endpoint_id


def test_a_killed_worker_resends_only_what_was_not_acknowledged(shop, receiver, worker, admin, db):
    account_id, client = shop
    receiver.behaviours["crash"] = "ok"
    endpoint = hook(shop, receiver, "crash").endpoint
    first = credits(admin, account_id, 3)
    wait_for(lambda: len(receiver.answered_to("crash")) == 3, "3 acknowledged", WAIT_S)
    wait_for(
        lambda: [d.state for d in deliveries_of(client, endpoint.endpoint_id)] == [2, 2, 2],
        "3 marked SUCCEEDED",
        WAIT_S,
    )
    receiver.holds["crash"] = gate = threading.Event()
    receiver.behaviours["crash"] = "hold"
    more = credits(admin, account_id, 3, first_cents=201)
    wait_for(lambda: len(receiver.requests_to("crash")) == 4, "the 4th held", WAIT_S)
    worker.kill()  # mid-delivery: the 4th is sent, its answer never recorded
    receiver.behaviours["crash"] = "ok"
    gate.set()
    worker.start()
    worker.wait_until_delivering()
    # The held answer went to a dead connection: 3 answered before, 3 after.
    wait_for(lambda: len(receiver.answered_to("crash")) == 6, "the rest after restart", WAIT_S)
    got = amounts_of(receiver.requests_to("crash"))
    assert got[:3] == first  # acknowledged ones are never sent again
    assert unique(got) == first + more  # nothing lost, in order
    assert got.count(201) == 2 and got.count(202) == got.count(203) == 1
    wait_for(
        lambda: {d.state for d in deliveries_of(client, endpoint.endpoint_id)} == {2},
        "all SUCCEEDED",
        WAIT_S,
    )


def test_rotation_signs_with_both_secrets_for_a_day(shop, receiver, worker, admin):
    account_id, client = shop
    created = hook(shop, receiver, "rotated")
    rotated = client.rotate_webhook_secret(created.endpoint.endpoint_id)
    assert rotated.secret != created.secret
    credits(admin, account_id, 1)
    wait_for(lambda: receiver.answered_to("rotated"), "a delivery", WAIT_S)
    request = receiver.answered_to("rotated")[0]
    header = request.headers["Envoi-Signature"]
    assert header.count("v1=") == 2
    verify_webhook(request.body, header, rotated.secret)
    verify_webhook(request.body, header, created.secret)


def test_redeliver_sends_the_same_event_again(shop, receiver, worker, admin):
    account_id, client = shop
    endpoint = hook(shop, receiver, "again").endpoint
    credits(admin, account_id, 1)
    wait_for(lambda: receiver.answered_to("again"), "a delivery", WAIT_S)
    first = deliveries_of(client, endpoint.endpoint_id)[0]
    again = client.redeliver(first.delivery_id)
    assert again.event_id == first.event_id and again.delivery_id != first.delivery_id
    wait_for(lambda: len(receiver.answered_to("again")) == 2, "the redelivery", WAIT_S)
    bodies = [r.body for r in receiver.answered_to("again")]
    assert bodies[0] == bodies[1]


def test_a_deleted_endpoint_gets_nothing_more(shop, receiver, worker, admin):
    account_id, client = shop
    endpoint = hook(shop, receiver, "deleted").endpoint
    client.delete_webhook_endpoint(endpoint.endpoint_id)
    assert client.list_webhook_endpoints(account_id) == []
    watcher = hook(shop, receiver, "alive")
    credits(admin, account_id, 1)
    wait_for(lambda: receiver.answered_to("alive"), "the live endpoint", WAIT_S)
    assert receiver.requests_to("deleted") == []
    assert watcher.endpoint.endpoint_id != endpoint.endpoint_id
    with pytest.raises(errors.WebhookEndpointNotFound):
        client.rotate_webhook_secret(endpoint.endpoint_id)


def endpoint_rows(db) -> tuple:
    return db.execute(
        "SELECT (SELECT count(*) FROM webhook_endpoints), (SELECT count(*) FROM webhook_secrets),"
        " (SELECT count(*) FROM webhook_deliveries)"
    ).fetchone()


BAD_CREATES = {
    "not https": ("http://shop.example/hooks", ["TRANSFER_COMPLETED"], "url"),
    "ftp": ("ftp://shop.example/hooks", ["TRANSFER_COMPLETED"], "url"),
    "a password in it": ("https://u:p@shop.example/", ["TRANSFER_COMPLETED"], "url"),
    "too long": ("https://shop.example/" + "a" * 2048, ["TRANSFER_COMPLETED"], "url"),
    "no host": ("https:///hooks", ["TRANSFER_COMPLETED"], "url"),
    "empty": ("", ["TRANSFER_COMPLETED"], "url"),
    "no event type": ("https://shop.example/", [], "event_types"),
    "twice the same": ("https://shop.example/", ["CODE_RESET", "CODE_RESET"], "event_types"),
    "unspecified": ("https://shop.example/", [0], "event_types"),
    "unknown": ("https://shop.example/", [999], "event_types"),
}


@pytest.mark.parametrize("case", sorted(BAD_CREATES))
def test_a_bad_endpoint_is_refused_and_changes_nothing(case, shop, db):
    account_id, client = shop
    url, types, field = BAD_CREATES[case]
    before = endpoint_rows(db)
    with pytest.raises(errors.InvalidArgument) as refused:
        client.create_webhook_endpoint(account_id, url, types)
    assert refused.value.reason == "INVALID_ARGUMENT"
    assert set(refused.value.field_violations) == {field}
    assert endpoint_rows(db) == before


def test_other_bad_requests_are_refused_with_typed_errors(shop, open_account, admin, db):
    account_id, client = shop
    endpoint = client.create_webhook_endpoint(
        account_id, "https://shop.example/h", ["TRANSFER_COMPLETED"]
    ).endpoint
    before = endpoint_rows(db)
    refusals = [
        (lambda: client.list_webhook_endpoints("nope"), errors.InvalidArgument),
        (lambda: client.delete_webhook_endpoint("nope"), errors.InvalidArgument),
        (lambda: client.redeliver("-1"), errors.InvalidArgument),
        (lambda: client.redeliver("99999999999"), errors.WebhookDeliveryNotFound),
        (
            lambda: client.list_webhook_deliveries(endpoint.endpoint_id, page_size=101),
            errors.InvalidArgument,
        ),
        (
            lambda: client.list_webhook_deliveries(endpoint.endpoint_id, page_token="x"),
            errors.InvalidPageToken,
        ),
        (
            lambda: client.rotate_webhook_secret("0b5f1e2c-8a8e-4a54-9d6e-3c1f6d1f2a10"),
            errors.WebhookEndpointNotFound,
        ),
        (
            lambda: client.create_webhook_endpoint(
                open_account("MERCHANT"), "https://shop.example/", ["TRANSFER_COMPLETED"]
            ),
            errors.PermissionDenied,
        ),
    ]
    for call, error in refusals:
        with pytest.raises(error):
            call()
    assert endpoint_rows(db) == before
    person_endpoint = admin.list_webhook_endpoints(account_id)
    assert [e.endpoint_id for e in person_endpoint] == [endpoint.endpoint_id]


def test_a_merchant_has_at_most_16_endpoints(shop, db):
    account_id, client = shop
    for n in range(endpoints.MAX_ENDPOINTS):
        client.create_webhook_endpoint(account_id, f"https://shop.example/{n}", ["CODE_RESET"])
    before = endpoint_rows(db)
    with pytest.raises(errors.LimitExceeded) as refused:
        client.create_webhook_endpoint(account_id, "https://shop.example/x", ["CODE_RESET"])
    assert refused.value.metadata["limit"] == "WEBHOOK_ENDPOINTS"
    assert endpoint_rows(db) == before


def test_a_retry_of_create_answers_the_endpoint_without_its_secret(shop):
    account_id, client = shop
    args = (account_id, "https://shop.example/once", ["TRANSFER_COMPLETED"])
    first = client.create_webhook_endpoint(*args, request_id="wh-once")
    again = client.create_webhook_endpoint(*args, request_id="wh-once")
    assert first.secret and not again.secret
    assert again.endpoint == first.endpoint
    assert len(client.list_webhook_endpoints(account_id)) == 1


def test_deliveries_are_listed_page_by_page(shop, receiver, worker, admin):
    account_id, client = shop
    endpoint = hook(shop, receiver, "paged").endpoint
    credits(admin, account_id, 5)
    wait_for(lambda: len(receiver.answered_to("paged")) == 5, "5 deliveries", WAIT_S)
    seen, token = [], ""
    while True:
        page = client.list_webhook_deliveries(endpoint.endpoint_id, page_size=2, page_token=token)
        seen += [d.delivery_id for d in page.deliveries]
        token = page.next_page_token
        if not token:
            break
    assert len(seen) == 5 and seen == sorted(seen, key=int, reverse=True)


def test_the_server_role_cannot_read_a_secret(server_database_url, shop):
    import psycopg

    account_id, client = shop
    client.create_webhook_endpoint(account_id, "https://shop.example/s", ["CODE_RESET"])
    with psycopg.connect(server_database_url, autocommit=True) as conn:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT secret FROM webhook_secrets")


def test_two_workers_share_the_queues_and_send_each_delivery_once_in_order(
    shop, receiver, worker, admin, webhooks_database_url, tmp_path
):
    account_id, client = shop
    second = WorkerProcess(webhooks_database_url, tmp_path / "second.log")
    second.start()
    second.wait_until_delivering()
    try:
        names = [f"shared{n}" for n in range(4)]
        for name in names:
            hook(shop, receiver, name)
        amounts = credits(admin, account_id, 12)
        for name in names:
            wait_for(lambda n=name: len(receiver.answered_to(n)) == 12, name, WAIT_S)
    finally:
        second.stop()
    assert second.process.returncode == 0
    assert second.deliveries_logged() > 0  # it took its share
    for name in names:
        assert amounts_of(receiver.requests_to(name)) == amounts, name


def test_the_worker_needs_its_database_url_and_documents_its_settings():
    done = subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "webhooks"],
        env=envoi_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "ENVOI_WEBHOOKS_DATABASE_URL" in done.stderr
    shown = subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "webhooks", "--help"],
        env=envoi_env(),
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    read = {f"ENVOI_WEBHOOKS_{f.name.upper()}" for f in NUMBER_FIELDS} | {
        "ENVOI_WEBHOOKS_DATABASE_URL",
        "ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK",
    }
    assert {name for name in read if f"  {name} " not in shown} == set()


def test_an_https_endpoint_must_show_a_certificate_the_worker_trusts(tmp_path):
    """The sender verifies certificates: one from an unknown CA fails with TLS,
    the request never sent."""
    issued = CertificateAuthority(tmp_path, "unknown").issue("localhost", server=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(issued.cert_file, issued.key_file)
    with Receiver(context) as https_receiver:
        limits = sender.Limits(1.0, 2.0, 1024, allow_loopback=True)
        outcome = sender.post(https_receiver.url("tls"), b"{}", {}, limits)
        assert (outcome.status_code, outcome.error_class) == (None, "TLS")
        assert https_receiver.requests_to("tls") == []
