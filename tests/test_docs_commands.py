"""Every ```sh and ```python block of the README and the docs runs, against one
real `envoi serve` for the module, so that the commands the docs show cannot
rot. The README's blocks run first, then each doc's in the order of DOCS; the
variables a block sets are kept for the next ones (as a reader's shell would:
the Quickstart's $ALICE and $WALLET serve docs/operations.md). `localhost:50051`
in a block means this server: it is replaced by its address.

A block that cannot run in a test says so, on the line just before it:
`<!-- not run: the reason -->` (the server runs forever, sudo, another
machine, a fragment of a program). test_the_blocks_not_run_say_why lists them.
"""

import os
import pathlib
import re
import signal
import subprocess
import sys

import pytest

from envoi.core import schema
from envoi.core.ops.harness import (
    ServeProcess,
    create_database,
    database_env,
    drop_database,
    envoi_env,
)

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = [
    ROOT / "README.md",
    *sorted(ROOT.glob("docs/*.md")),
    *sorted(ROOT.glob("clients/*/README.md")),
    *sorted(ROOT.glob("channels/*/README.md")),
    *sorted(ROOT.glob("examples/*/README.md")),
]
RUN_LANGUAGES = ("sh", "python")
# A shell block is ```sh; these would hide one from the test.
SHELL_ALIASES = ("bash", "shell", "console", "zsh")
BLOCK = re.compile(
    r"(?:^<!-- not run: (?P<reason>.+?) -->\n)?^```(?P<language>[a-z]*)\n(?P<code>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
BLOCK_TIMEOUT_S = 120


def blocks(doc: pathlib.Path) -> list[dict]:
    found = []
    for match in BLOCK.finditer(doc.read_text()):
        line = doc.read_text().count("\n", 0, match.start("code"))
        found.append(
            {
                "doc": doc.relative_to(ROOT),
                "line": line,
                "language": match["language"],
                "code": match["code"],
                "reason": match["reason"],
            }
        )
    return found


ALL_BLOCKS = [block for doc in DOCS for block in blocks(doc)]
TO_RUN = [b for b in ALL_BLOCKS if b["language"] in RUN_LANGUAGES and not b["reason"]]


@pytest.fixture(scope="module")
def serve(postgres_server_url, tmp_path_factory):
    """One `envoi serve` (no gateway: no channel is configured) on a new database."""
    from envoi.core.testing import TEST_CODE_KEY

    owner_url = create_database(postgres_server_url, "envoi_docs")
    schema.migrate(owner_url)
    tmp = tmp_path_factory.mktemp("docs")
    env = envoi_env(
        **database_env(owner_url),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_DATA_DIR=str(tmp / "data"),
        # The sandbox payment provider, which docs/providers.md shows.
        ENVOI_SANDBOX_WEBHOOK_SECRET="docs-test-sandbox-secret-" + "0" * 16,
    )
    process = ServeProcess(env, ["--no-gateway", "--no-webhooks"], tmp / "serve.log")
    try:
        process.wait_until_serving()
        yield process, env, tmp
    finally:
        process.stop()
        drop_database(postgres_server_url, owner_url)


def start_state(env: dict) -> dict:
    """The environment the blocks run in: the server's settings, envoi on PATH."""
    bin_dir = str(pathlib.Path(sys.executable).parent)
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def run_shell(code: str, state: dict, tmp: pathlib.Path) -> subprocess.CompletedProcess:
    """code in bash (stop at the first failure), every variable it sets exported
    (set -a) and written to a file, read back into state."""
    env_file = tmp / "env"
    script = f"set -euo pipefail -a\n{code}\nenv -0 > {env_file}\n"
    done = run(["bash", "-c", script], state)
    if done.returncode == 0:
        pairs = env_file.read_text().split("\0")
        state.clear()
        state.update(pair.split("=", 1) for pair in pairs if "=" in pair)
    return done


def run(command: list[str], env: dict) -> subprocess.CompletedProcess:
    """command in a session of its own: on a timeout, what it started in the
    background is stopped with it."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=BLOCK_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        stderr += f"\n(killed after {BLOCK_TIMEOUT_S} s)"
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def run_python(code: str, state: dict) -> subprocess.CompletedProcess:
    return run([sys.executable, "-c", code], state)


def test_every_block_runs_in_order(serve):
    """One test, the blocks in order (a block uses what the ones before set), so
    that xdist cannot share them out; it stops at the first that fails."""
    process, env, tmp = serve
    state = start_state(env)
    for block in TO_RUN:
        code = block["code"].replace("localhost:50051", process.target)
        if block["language"] == "sh":
            done = run_shell(code, state, tmp)
        else:
            done = run_python(code, state)
        where = f"{block['doc']}:{block['line']}"
        assert done.returncode == 0, f"{where}\n{code}\n{done.stdout}\n{done.stderr}"
        # A balance a comment shows (the Quickstart's `# balance 39.50 EUR`) is printed.
        for amount in re.findall(r"# balance (\d+\.\d\d [A-Z]{3})$", code, re.MULTILINE):
            assert re.search(rf"^balance\s+{re.escape(amount)}$", done.stdout, re.MULTILINE), where


def test_the_blocks_not_run_say_why(capsys):
    skipped = [b for b in ALL_BLOCKS if b["reason"]]
    with capsys.disabled():  # shown in the test's output, not only on failure
        print("\nblocks not run:")
        for block in skipped:
            print(f"  {block['doc']}:{block['line']} ({block['language']}): {block['reason']}")
    assert all(b["reason"].strip() for b in skipped)
    assert len(TO_RUN) >= 5  # the README's Quickstart, its Python, the operator's commands...


def test_shell_blocks_are_marked_sh():
    hidden = [f"{b['doc']}:{b['line']}" for b in ALL_BLOCKS if b["language"] in SHELL_ALIASES]
    assert hidden == []
