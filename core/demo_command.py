"""`envoi demo`: envoi, the X API emulator with alice, bob and a charity, the
gateway and the wallet, in one command; Ctrl-C stops everything it started.
`envoi demo post --as alice TEXT` posts on the running demo's emulator.

The demo writes what it started (addresses, the people and their codes) to
DIR/state.json, DIR being ENVOI_DEMO_DIR or ~/.local/share/envoi/demo; each
run starts from an empty embedded database in DIR/data (or uses
ENVOI_DATABASE_URL's, as `envoi serve` does); the logs are in DIR/logs.
"""

import argparse
import json
import os
import pathlib
import secrets
import shutil
import signal
import sys
import threading

DEFAULT_LISTEN = "localhost:50051"
DEFAULT_GATEWAY_LISTEN = "localhost:8080"
DEFAULT_WALLET_LISTEN = "localhost:8000"
READY_TIMEOUT_S = 60.0


def add_commands(commands) -> None:
    """`envoi x-emulator` and `envoi demo`; their modules load when used."""

    def emulator_arguments(p):
        from envoi.channels.twitter import emulator_command

        emulator_command.add_arguments(p)
        p.set_defaults(handler=emulator_command.run_command)

    commands.add_parser(
        "x-emulator",
        help="run the X API emulator (fixed test credentials, a page to post as someone)",
        description="The X API emulator of the tests as a local server: the bot @SmoneyFR, "
        "a few people, fixed credentials printed at start (with the settings of a gateway "
        "against it) and a page to post as someone. Test-only; Ctrl-C stops it.",
        add_arguments=emulator_arguments,
    )
    commands.add_parser(
        "demo",
        help="envoi, the X API emulator, the gateway and the wallet, with alice, bob and a charity",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        add_arguments=_demo_arguments,
    )


def _demo_arguments(p) -> None:
    env = os.environ
    p.add_argument(
        "--listen", default=env.get("ENVOI_LISTEN") or DEFAULT_LISTEN, help="envoi's gRPC address"
    )
    p.add_argument(
        "--gateway-listen",
        default=env.get("ENVOI_GATEWAY_LISTEN") or DEFAULT_GATEWAY_LISTEN,
        help="the gateway's webhook address",
    )
    p.add_argument(
        "--x-listen", default="localhost:8086", help="the X API emulator's address (and page)"
    )
    p.add_argument(
        "--wallet-listen",
        default=env.get("ENVOI_WALLET_LISTEN") or DEFAULT_WALLET_LISTEN,
        help="the wallet's address (ENVOI_WALLET_LISTEN)",
    )
    p.set_defaults(handler=run_demo)
    post = p.add_subparsers(dest="demo_command", metavar="{post}").add_parser(
        "post", help="post on the running demo's X API emulator, as one of its people"
    )
    post.add_argument("--as", dest="author", required=True, help="alice, bob or charity")
    post.add_argument("text", help="e.g. '@SmoneyFR #envoyer 10€ @bob'")
    post.add_argument(
        "--wait-s", type=float, default=20.0, help="how long to wait for the bot's reply"
    )
    post.set_defaults(handler=_post)


def demo_dir() -> pathlib.Path:
    if os.environ.get("ENVOI_DEMO_DIR"):
        return pathlib.Path(os.environ["ENVOI_DEMO_DIR"])
    data_home = os.environ.get("XDG_DATA_HOME") or pathlib.Path.home() / ".local/share"
    return pathlib.Path(data_home) / "envoi" / "demo"


def _post(args) -> None:
    from envoi.core.ops import demo_post

    demo_post.post(demo_dir(), args.author, args.text, args.wait_s)


def run_demo(args) -> None:
    from envoi.core.ops.demo_run import Demo

    directory = demo_dir()
    _refuse_second_demo(directory)
    demo = Demo(directory, args)
    # SIGTERM as Ctrl-C: both end in the same orderly stop.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        demo.start()
        print(demo.summary(), flush=True)
        demo.wait()
    except KeyboardInterrupt:
        print("\nenvoi demo: stopping", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # the stop is bounded; let it finish
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        demo.stop()
    if demo.failure:
        sys.exit(f"envoi demo: {demo.failure}")


def _refuse_second_demo(directory: pathlib.Path) -> None:
    state_path = directory / "state.json"
    try:
        pid = json.loads(state_path.read_text())["pid"]
        os.kill(pid, 0)
    except (OSError, ValueError, KeyError, TypeError):
        return
    raise SystemExit(f"envoi demo: a demo is already running (process {pid}, {state_path})")


def write_state(directory: pathlib.Path, state: dict) -> None:
    """state.json, readable by its owner only (it holds the people's codes)."""
    path = directory / "state.json"
    temporary = path.with_suffix(".tmp")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(state, out, indent=2, ensure_ascii=False)
    temporary.replace(path)


def fresh_data_dir(directory: pathlib.Path) -> pathlib.Path:
    """DIR/data, emptied: each demo starts with the same world."""
    data = directory / "data"
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    return data


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def stop_event_on_exit(process, stopped: threading.Event, what: str, failures: list) -> None:
    """A thread that sets stopped when process exits (and records why)."""

    def watch():
        process.wait()
        if not stopped.is_set():
            failures.append(f"the {what} exited (code {process.returncode})")
            stopped.set()

    threading.Thread(target=watch, name=f"watch-{what}", daemon=True).start()
