"""The third intake kind: a channel's listen(), supervised by the gateway.

The network is a server-sent-events stream on a real HTTP server (Starlette
on uvicorn), read with requests, as a streaming network's client would; the
posts go through envoi's real gRPC server into PostgreSQL."""

import asyncio
import dataclasses
import itertools
import json
import threading
import time

import pytest
import requests
import uvicorn
from starlette.applications import Starlette
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from envoi.channels.channel import Channel, InboundPost, Person
from envoi.channels.grammar import Grammar
from envoi.channels.listener import LISTEN_CURSOR, listens
from envoi.core.ops.harness import free_port
from envoi.v1 import identity_pb2

WAIT_S = 20.0


_EVENT_IDS = itertools.count(int(time.time() * 1000))  # increasing, as a network's ids


@dataclasses.dataclass
class StreamNetwork:
    """A network that streams posts: each connection gets the posts after its
    Last-Event-ID (or all of them, with replay_all), in SSE, then keep-alives.
    `plan` says, connection by connection, what to do: "fail" (503), "one"
    (one post, then hang up), "all" (every post, then hold the line)."""

    events: list = dataclasses.field(default_factory=list)  # (event id, post)
    plan: list = dataclasses.field(default_factory=list)
    replay_all: bool = False
    connections: list = dataclasses.field(default_factory=list)  # (monotonic s, Last-Event-ID)

    def app(self) -> Starlette:
        async def stream(request):
            self.connections.append((time.monotonic(), request.headers.get("last-event-id")))
            step = self.plan.pop(0) if self.plan else "all"
            if step == "fail":
                return Response(status_code=503)
            since = 0 if self.replay_all else int(request.headers.get("last-event-id") or 0)
            todo = [(event_id, post) for event_id, post in self.events if event_id > since]
            return StreamingResponse(self._events(todo, step), media_type="text/event-stream")

        return Starlette(routes=[Route("/stream", stream)])

    def add(self, *posts) -> None:
        self.events += [(next(_EVENT_IDS), post) for post in posts]

    @property
    def posts(self) -> list:
        return [post for _, post in self.events]

    async def _events(self, todo, step):
        for event_id, post in todo[: 1 if step == "one" else None]:
            yield f"id: {event_id}\ndata: {json.dumps(post)}\n\n"
        if step == "one":
            return
        while True:  # hold the line: a keep-alive comment every 0.1 s
            yield ": keep-alive\n\n"
            await asyncio.sleep(0.1)


@pytest.fixture
def network():
    net = StreamNetwork()
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(net.app(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    net.url = f"http://127.0.0.1:{port}/stream"
    yield net
    server.should_exit = True
    thread.join(5)


class StreamChannel(Channel):
    """A channel whose posts come from a stream: the shape of Mastodon's
    streaming API or Matrix's sync."""

    name = "streamnet"

    def __init__(self, url: str):
        self.url = url
        self.grammar = Grammar("envoi")

    def listen(self, intake) -> None:
        headers = {"Last-Event-ID": intake.cursor()} if intake.cursor() else {}
        with requests.get(self.url, headers=headers, stream=True, timeout=(2, 1)) as response:
            response.raise_for_status()
            event_id = post = None
            for line in response.iter_lines(decode_unicode=True):
                if intake.stopping.is_set():
                    return
                if line.startswith("id:"):
                    event_id = line[3:].strip()
                elif line.startswith("data:"):
                    post = json.loads(line[5:])
                elif not line and post:
                    intake.take_in(self._post(post))
                    intake.save_cursor(event_id)
                    post = None

    @staticmethod
    def _post(post: dict) -> InboundPost:
        return InboundPost(
            post_id=post["id"],
            author=Person(post["author_id"], post["author"]),
            text=post["text"],
            mentions=tuple(Person(m["id"], m["handle"]) for m in post["mentions"]),
        )

    def send(self, message) -> None:
        pass


@pytest.fixture
def people(open_account, wallet):
    """people() -> (alice, bob): linked streamnet users, alice with 50 €."""
    tag = str(time.monotonic_ns())

    def person(name, balance_cents):
        account_id = open_account(balance_cents=balance_cents)
        identity = identity_pb2.Identity(
            namespace="streamnet", subject_id=f"{name}-{tag}", handle=f"{name}{tag[-6:]}"
        )
        wallet.link_identity(account_id, identity)
        return {"id": identity.subject_id, "handle": identity.handle}

    return lambda: (person("alice", 5_000), person("bob", 0))


def post(n, alice, bob, euros=10):
    return {
        "id": f"{alice['id']}-{n}",
        "author_id": alice["id"],
        "author": alice["handle"],
        "text": f"@envoi #envoyer {euros}€ @{bob['handle']}",
        "mentions": [bob],
    }


def transfers_of(db, posts) -> list:
    return db.execute(
        "SELECT channel_reference, state FROM transfers WHERE channel_reference = ANY(%s)"
        " ORDER BY channel_reference",
        ([f"post:{p['id']}" for p in posts],),
    ).fetchall()


def wait_for(condition):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_streamed_post_starts_one_payment_across_hang_ups_and_replays(
    network, people, start_gateway, channel_client_for, db
):
    alice, bob = people()
    network.add(post(1, alice, bob), post(2, alice, bob, euros=7))
    network.plan = ["one", "all"]  # hangs up after the first post
    network.replay_all = True  # and the next connection sends both again
    gateway = start_gateway(StreamChannel(network.url), channel_client_for("streamnet"))
    [listener] = gateway.listeners
    first, second = (str(event_id) for event_id, _ in network.events)
    # The cursor moves past the second post only after the replayed first one.
    wait_for(lambda: gateway.store.cursor("streamnet", LISTEN_CURSOR) == second)
    assert [state for _, state in transfers_of(db, network.posts)] == ["PENDING_CONFIRMATION"] * 2
    assert listener.runs == 2
    assert network.connections[1][1] == first  # the second connection resumed from its cursor


def test_a_failing_stream_is_listened_to_again_with_a_growing_backoff(
    network, people, start_gateway, channel_client_for, gateway_pool, db
):
    from envoi.channels.gateway import Gateway
    from envoi.channels.gateway_store import GatewayStore

    alice, bob = people()
    network.add(post(1, alice, bob))
    network.plan = ["fail", "fail", "fail", "all"]
    channel = StreamChannel(network.url)
    gateway = Gateway(
        [channel],
        {"streamnet": channel_client_for("streamnet")},
        GatewayStore(gateway_pool),
        listen=None,
        listen_backoff_s=0.1,
    )
    gateway.start()
    try:
        wait_for(lambda: transfers_of(db, network.posts))
    finally:
        gateway.stop()
    times = [at for at, _ in network.connections]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert gaps[0] >= 0.1 and gaps[1] >= 0.2 and gaps[2] >= 0.4  # doubling from 0.1 s


def test_the_gateway_stops_a_listening_channel_on_shutdown(
    network, people, start_gateway, channel_client_for, gateway_pool
):
    from envoi.channels.gateway import Gateway
    from envoi.channels.gateway_store import GatewayStore

    channel = StreamChannel(network.url)
    gateway = Gateway(
        [channel], {"streamnet": channel_client_for("streamnet")}, GatewayStore(gateway_pool)
    )
    assert gateway.webhooks is None  # no routes: no port opened
    gateway.start()
    [listener] = gateway.listeners
    wait_for(lambda: network.connections)  # the line is open, with keep-alives
    gateway.stop()
    assert not listener.running and listener.runs == 1


def test_only_a_channel_that_implements_listen_listens():
    class Quiet(Channel):
        name = "quiet"

    assert listens(StreamChannel("http://127.0.0.1:1/")) and not listens(Quiet())


def test_the_gateway_names_people_without_an_at_unless_the_channel_says_so():
    class Quiet(Channel):
        name = "quiet"

    assert Quiet().name_person("bob", "quiet") == "bob"
    assert Quiet().name_person("bob", "twitter") == "bob on twitter"
