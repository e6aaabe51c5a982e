"""Signed X webhooks on a fixed schedule, from sender processes of their own
over kept-alive connections: what `envoi bench` needs to deliver 1,000 posts
per second from Python.

The X API emulator's deliver_webhook opens a connection per POST (urllib), and
the emulator answers the gateway's replies in the bench's own process: a
sender there would share its interpreter lock with them. Here each sender
process has its threads, each thread one HTTP/1.1 connection it reuses, and
every body is serialized and signed before the schedule starts.

Stdlib only at import: the sender processes are spawned and import this module.
"""

import http.client
import multiprocessing
import queue
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

SENDER_START_TIMEOUT_S = 60.0
SENDER_START_MARGIN_S = 0.2  # from the go signal to the first post's slot
POST_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SignedPost:
    n: int  # its slot in the schedule: sent at start + n / per_s
    post_id: str
    body: bytes
    signature: str


@dataclass
class Delivery:
    sent_at: dict  # {post id: send start, epoch s} of the posts the gateway accepted (200)
    slot_at: dict  # {post id: its slot, epoch s} of the same posts
    not_accepted: int  # refused, reset or not 200: left out
    late_s: list  # every post's send start minus its slot, s
    first_slot_s: float  # epoch s of slot 0
    last_start_s: float  # epoch s of the last send start
    max_in_flight: int  # the most POSTs waiting for an answer, per process, summed


def signed_posts(payloads: list[dict], consumer_secret: str) -> list[SignedPost]:
    """The bodies X would send, and their signature header, made ahead of time."""
    import json

    from envoi.channels.twitter.x_api_emulator import signature

    posts = []
    for n, payload in enumerate(payloads):
        body = json.dumps(payload, separators=(",", ":")).encode()
        post_id = payload["tweet_create_events"][0]["id_str"]
        posts.append(SignedPost(n, post_id, body, signature(body, consumer_secret)))
    return posts


def deliver_at_rate(
    url: str, posts: list[SignedPost], per_s: float, processes: int, threads_per_process: int
) -> Delivery:
    """POST each post at its slot from `processes` spawned senders (post n from
    sender n % processes), all on one schedule that starts once every sender
    is ready."""
    context = multiprocessing.get_context("spawn")
    ready, results = context.Queue(), context.Queue()
    go, start = context.Event(), context.Value("d", 0.0)
    senders = [
        context.Process(
            target=_sender,
            args=(url, posts[k::processes], per_s, threads_per_process, ready, go, start, results),
            daemon=True,
        )
        for k in range(processes)
    ]
    for sender in senders:
        sender.start()
    try:
        for _ in senders:
            ready.get(timeout=SENDER_START_TIMEOUT_S)
        start.value = time.time() + SENDER_START_MARGIN_S
        go.set()
        # Drained before join: a process does not exit while its queue holds data.
        wait_s = len(posts) / per_s + POST_TIMEOUT_S + SENDER_START_TIMEOUT_S
        parts = [results.get(timeout=wait_s) for _ in senders]
    except queue.Empty:
        raise RuntimeError("a webhook sender process did not start or finish") from None
    finally:
        for sender in senders:
            sender.join(timeout=POST_TIMEOUT_S)
            if sender.is_alive():
                sender.kill()
    return Delivery(
        sent_at={post_id: s for part in parts for post_id, s in part["sent_at"].items()},
        slot_at={post_id: s for part in parts for post_id, s in part["slot_at"].items()},
        not_accepted=sum(part["not_accepted"] for part in parts),
        late_s=[late for part in parts for late in part["late_s"]],
        first_slot_s=start.value,
        last_start_s=max((part["last_start_s"] for part in parts), default=start.value),
        max_in_flight=sum(part["max_in_flight"] for part in parts),
    )


def _sender(url, share, per_s, threads, ready, go, start, results) -> None:
    """One sender process: its share of the posts, each at its slot, from its threads."""
    parsed = urllib.parse.urlsplit(url)
    local = threading.local()
    lock = threading.Lock()
    state = {"in_flight": 0, "max_in_flight": 0, "last_start_s": 0.0}
    sent_at, slot_at, late_s, refused = {}, {}, [], []

    def post(item: SignedPost) -> None:
        slot_s = start.value + item.n / per_s
        delay_s = slot_s - time.time()
        if delay_s > 0:
            time.sleep(delay_s)
        started_s = time.time()
        with lock:
            state["in_flight"] += 1
            state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
            state["last_start_s"] = max(state["last_start_s"], started_s)
        status = _post(local, parsed, item)
        with lock:
            state["in_flight"] -= 1
            late_s.append(started_s - slot_s)
            if status == 200:
                sent_at[item.post_id] = started_s
                slot_at[item.post_id] = slot_s
            else:
                refused.append(status)

    ready.put(True)
    go.wait()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(post, share))
    results.put(
        {
            "sent_at": sent_at,
            "slot_at": slot_at,
            "not_accepted": len(refused),
            "late_s": late_s,
            "last_start_s": state["last_start_s"],
            "max_in_flight": state["max_in_flight"],
        }
    )


def _post(local: threading.local, parsed, item: SignedPost) -> int | None:
    """The status of one POST on this thread's connection (opened on first use,
    and again after a failure or a close); None when the connection failed."""
    conn = getattr(local, "conn", None)
    if conn is None:
        conn = local.conn = http.client.HTTPConnection(
            parsed.hostname, parsed.port, timeout=POST_TIMEOUT_S
        )
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "x-twitter-webhooks-signature": item.signature,
    }
    try:
        conn.request("POST", parsed.path, item.body, headers)
        response = conn.getresponse()
        response.read()
    except (OSError, http.client.HTTPException):  # refused or reset: not taken
        conn.close()
        local.conn = None
        return None
    if response.will_close:
        conn.close()
        local.conn = None
    return response.status
