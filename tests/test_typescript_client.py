"""The TypeScript client (clients/typescript) against a real `envoi serve`:
its Node test (node:test) opens accounts, pays, reads typed errors and
streams events through the generated code, over gRPC.

Needs Node.js 20+ and npm; `npm ci` installs the client's pinned packages from
the npm registry when its node_modules/ is missing or older than its lock file.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import rpc_catalog
from server_process import ServerProcess, database_env, envoi_env

from envoi.client import EnvoiClient
from envoi.core.testing import TEST_CODE_KEY, TEST_SIREN

ROOT = Path(__file__).resolve().parent.parent
CLIENT_DIR = ROOT / "clients/typescript"
NODE_TEST = "test/client.test.js"
NPM_TIMEOUT_S = 300
NODE_TEST_TIMEOUT_S = 120
# node fails a test that hangs (a stream that never sees its event) after this,
# and still prints its report; the subprocess timeout above is the last resort.
NODE_EACH_TEST_TIMEOUT_MS = 60_000
MERCHANT_CODE = "246810"


def node_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(
            f"`{name}` not found: the TypeScript client's test needs Node.js 20+ and npm "
            "(the proto commands need them too); install Node.js and run the tests again"
        )
    return path


def install_client_packages():
    """`npm ci` in clients/typescript unless node_modules/ is current with the lock file."""
    lock = CLIENT_DIR / "package-lock.json"
    installed = CLIENT_DIR / "node_modules/.package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        return
    done = subprocess.run(
        [node_tool("npm"), "ci", "--no-audit", "--no-fund"],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=NPM_TIMEOUT_S,
    )
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def server(tmp_path, database_url):
    env = envoi_env(
        **database_env(database_url),
        ENVOI_CODE_KEY=TEST_CODE_KEY.decode(),
        ENVOI_DATA_DIR=str(tmp_path / "data"),
    )
    server = ServerProcess(env, ["--no-gateway"], tmp_path / "serve.log")
    try:
        server.wait_until_serving()
        yield server
    finally:
        server.kill()


def test_the_typescript_client_pays_reads_errors_and_streams_events(server, make_token):
    node = node_tool("node")
    install_client_packages()
    admin_token = make_token("admin")
    # A merchant token names its account, so the account is opened here first.
    with EnvoiClient(server.target, admin_token) as admin:
        shop = admin.open_account("MERCHANT", "Shop", MERCHANT_CODE).account_id
        admin.set_business_profile(shop, "Shop SAS", TEST_SIREN)  # a merchant is paid once verified
    env = envoi_env(
        ENVOI_TARGET=server.target,
        ENVOI_WALLET_TOKEN=make_token("wallet"),
        ENVOI_ADMIN_TOKEN=admin_token,
        ENVOI_MERCHANT_TOKEN=make_token("merchant", merchant_account_id=shop),
        ENVOI_MERCHANT_ACCOUNT_ID=shop,
        ENVOI_MERCHANT_CODE=MERCHANT_CODE,
    )
    done = subprocess.run(
        [node, "--test", f"--test-timeout={NODE_EACH_TEST_TIMEOUT_MS}", NODE_TEST],
        cwd=CLIENT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=NODE_TEST_TIMEOUT_S,
    )
    assert done.returncode == 0, (
        f"node --test failed ({done.returncode}):\n{done.stdout}\n{done.stderr}\n"
        f"envoi serve's log:\n{server.log()}"
    )
    print(done.stdout)  # node's report, shown by pytest -rP
    assert "# fail 0" in done.stdout, done.stdout


def test_the_typescript_client_types_check():
    """tsc over the hand-written index.d.ts, the generated .d.ts and the examples."""
    node = node_tool("node")
    install_client_packages()
    done = subprocess.run(
        [node, "node_modules/typescript/bin/tsc", "--noEmit", "-p", "."],
        cwd=CLIENT_DIR,
        capture_output=True,
        text=True,
        timeout=NODE_TEST_TIMEOUT_S,
    )
    assert done.returncode == 0, f"tsc failed:\n{done.stdout}\n{done.stderr}"


def test_generated_code_and_runtime_share_one_protobuf_es_version():
    """protoc-gen-es (root package.json) writes code for @bufbuild/protobuf of its own version."""
    tools = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    client = json.loads((CLIENT_DIR / "package.json").read_text())["dependencies"]
    assert tools["@bufbuild/protoc-gen-es"] == client["@bufbuild/protobuf"]


def test_the_client_offers_every_service_of_the_contract():
    """createEnvoiClient (hand-written) gives a client of every generated service."""
    index = (CLIENT_DIR / "src/index.js").read_text()
    types = (CLIENT_DIR / "src/index.d.ts").read_text()
    for service in rpc_catalog.service_descriptors():
        assert f"createClient({service.name}, transport)" in index, service.name
        assert f"Client<typeof {service.name}>" in types, service.name
