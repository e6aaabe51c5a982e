"""`envoi demo` as a real process on free ports, on a database of the test
PostgreSQL: `envoi demo post` makes a payment the bot answers, and SIGINT
stops every process the demo started."""

import json
import pathlib
import signal
import socket
import subprocess
import sys

import psutil
import psycopg
import pytest
import requests

from envoi.client import EnvoiClient
from envoi.core import schema
from envoi.core.auth import api_tokens
from envoi.core.ops import demo_processes
from envoi.core.ops.harness import (
    create_database,
    database_env,
    drop_database,
    envoi_env,
    free_port,
)
from envoi.core.testing import TEST_CODE_KEY
from envoi.v1 import transfer_pb2

READY_TIMEOUT_S = 120
STOP_TIMEOUT_S = 60
PAYMENT = "@SmoneyFR #envoyer 10€ @bob"


@pytest.fixture
def demo_database(postgres_server_url):
    owner_url = create_database(postgres_server_url, "envoi_demo")
    schema.migrate(owner_url)
    yield owner_url
    drop_database(postgres_server_url, owner_url)


@pytest.fixture
def demo(demo_database, tmp_path):
    """(the running `envoi demo` process, its environment, its state); stopped after."""
    ports = {name: free_port() for name in ("listen", "gateway", "x", "wallet")}
    env = envoi_env(
        **database_env(demo_database),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_DEMO_DIR=str(tmp_path / "demo"),
    )
    command = [sys.executable, "-m", "envoi.core.cli", "demo"]
    for option in ("listen", "gateway", "x", "wallet"):
        flag = "--listen" if option == "listen" else f"--{option}-listen"
        command += [flag, f"127.0.0.1:{ports[option]}"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    output = []
    for line in process.stdout:  # until it says it is ready, or exits
        output.append(line)
        if line.startswith("Post as someone"):
            break
    state_path = tmp_path / "demo" / "state.json"
    assert state_path.exists(), "".join(output)
    yield process, env, json.loads(state_path.read_text()), "".join(output)
    if process.poll() is None:
        process.kill()
        process.wait()


def demo_post(env, author: str, text: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", "demo", "post", "--as", author, text],
        env=env,
        capture_output=True,
        text=True,
        timeout=READY_TIMEOUT_S,
    )


@pytest.mark.parametrize("stop_signal", [signal.SIGINT, signal.SIGTERM])
def test_a_post_on_the_demo_holds_a_payment_the_bot_answers_and_a_signal_stops_all(
    demo, demo_database, stop_signal
):
    process, env, state, output = demo
    children = psutil.Process(process.pid).children(recursive=True)
    assert children  # serve, its gateway and webhooks worker; the wallet
    if demo_processes.wallet_executable():
        assert requests.get(state["wallet_url"], timeout=10).status_code == 200
    else:
        assert state["wallet_url"] is None and "(envoi-wallet) is not installed" in output
    done = demo_post(env, "alice", PAYMENT)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == f"@alice: {PAYMENT}"
    assert "@SmoneyFR replied: @alice" in done.stdout

    with psycopg.connect(demo_database, autocommit=True) as conn:
        _, admin_token = api_tokens.create_token(conn, "admin")
    alice, bob = state["people"]["alice"], state["people"]["bob"]
    with EnvoiClient(state["target"], admin_token) as admin:
        pending = admin.list_transfers(alice["account_id"], states=["PENDING_CONFIRMATION"])
    [transfer] = pending.transfers
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    assert transfer.from_account_id == alice["account_id"]
    assert (transfer.to_account_id, transfer.amount.amount_cents) == (bob["account_id"], 1000)

    process.send_signal(stop_signal)
    assert process.wait(timeout=STOP_TIMEOUT_S) == 0
    gone, alive = psutil.wait_procs(children, timeout=STOP_TIMEOUT_S)
    assert alive == []
    assert not (pathlib.Path(env["ENVOI_DEMO_DIR"]) / "state.json").exists()


def test_demo_post_says_when_no_demo_runs(tmp_path):
    done = demo_post(envoi_env(ENVOI_DEMO_DIR=str(tmp_path)), "alice", PAYMENT)
    assert done.returncode == 1 and "no demo running" in done.stderr


def test_a_taken_address_is_named_and_nothing_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = "127.0.0.1:%d" % taken.getsockname()[1]
        done = subprocess.run(
            [
                *(sys.executable, "-m", "envoi.core.cli", "demo", "--x-listen", address),
                *("--listen", f"127.0.0.1:{free_port()}"),
                *("--gateway-listen", f"127.0.0.1:{free_port()}"),
                *("--wallet-listen", f"127.0.0.1:{free_port()}"),
            ],
            env=envoi_env(ENVOI_DEMO_DIR=str(tmp_path / "demo")),
            capture_output=True,
            text=True,
            timeout=READY_TIMEOUT_S,
        )
    assert done.returncode == 1
    assert f"the X API emulator (--x-listen) cannot listen on {address}" in done.stderr
    assert not (tmp_path / "demo").exists()
