#!/usr/bin/env python3
"""The developer's commands, each run in the project's own environment.

    python3 tasks.py serve [ARGS]    start envoi (`envoi serve ARGS`)
    python3 tasks.py demo [ARGS]     envoi, an X emulator, the gateway and the wallet (`envoi demo`)
    python3 tasks.py test [ARGS]     run the whole test suite (pytest ARGS)
    python3 tasks.py generate        regenerate the Python and TypeScript clients' code from proto/
    python3 tasks.py check-proto     buf format, lint, breaking; generated code up to date
    python3 tasks.py lint            ruff: lint and formatting of the Python code
    python3 tasks.py bench [ARGS]    measure envoi against PostgreSQL (`envoi bench ARGS`)
    python3 tasks.py torture [ARGS]  a bank workload under faults (`envoi torture ARGS`)

The first run creates .venv and installs envoi, its client, the wallet
(clients/wallet), the test tools and the Messenger and Mastodon channel
plugins (channels/messenger and examples/mastodon, each its own package) into
it; later runs reinstall only when a pyproject.toml changed.
buf and protoc-gen-es come from npm (package.json), installed into node_modules/.
Needs Python 3.10+, and Node.js 20+ with npm for the two proto commands and
the TypeScript client's test.
"""

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import venv

ROOT = pathlib.Path(__file__).resolve().parent
VENV = ROOT / ".venv"
VENV_BIN = VENV / "bin"
INSTALL_STAMP = VENV / "envoi-install.sha256"
GENERATED_DIR = ROOT / "clients/python/envoi/v1"
TS_GENERATED_DIR = ROOT / "clients/typescript/gen"
TS_TEMPLATE = "buf.gen.typescript.yaml"


def run(*args, **kwargs):
    print("+", " ".join(map(str, args)), flush=True)
    subprocess.run(args, check=True, **kwargs)


def ensure_venv():
    """Create .venv and install the project into it when its metadata changed."""
    manifests = [
        ROOT / "pyproject.toml",
        ROOT / "clients/python/pyproject.toml",
        ROOT / "channels/messenger/pyproject.toml",
        ROOT / "examples/mastodon/pyproject.toml",
        ROOT / "clients/wallet/pyproject.toml",
    ]
    wanted = hashlib.sha256(b"".join(path.read_bytes() for path in manifests)).hexdigest()
    if INSTALL_STAMP.exists() and INSTALL_STAMP.read_text() == wanted:
        return
    if not (VENV_BIN / "python").exists():
        venv.create(VENV, with_pip=True)
    pip = [VENV_BIN / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    # setuptools says, for every editable install of packages mapped to other
    # directories (envoi.core from core/), that a folder named as the package
    # could shadow it: none is, so that notice is all it would print.
    env = {**os.environ, "PYTHONWARNINGS": "ignore:Editable installation"}
    run(*pip, "--upgrade", "pip", env=env)
    run(
        *pip,
        "-e",
        ROOT / "clients/python",
        "-e",
        ROOT / "clients/wallet",
        "-e",
        f"{ROOT}[test,dev,bench]",
        env=env,
    )
    # An outside channel plugin, its own distribution: installed after envoi, as a user would.
    run(*pip, "-e", ROOT / "channels/messenger", "-e", ROOT / "examples/mastodon", env=env)
    INSTALL_STAMP.write_text(wanted)


def venv_env():
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(VENV)
    return env


def npm_tools():
    """`npm ci` (buf, protoc-gen-es) unless node_modules/ is newer than the lock file,
    so that a changed pin reaches generated code at once."""
    installed = ROOT / "node_modules/.package-lock.json"
    lock = ROOT / "package-lock.json"
    if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
        run("npm", "ci", "--silent", "--no-audit", "--no-fund", cwd=ROOT)


def buf(*args, **kwargs):
    npm_tools()
    run(ROOT / "node_modules/.bin/buf", *args, cwd=ROOT, env=venv_env(), **kwargs)


def serve(args):
    os.execve(VENV_BIN / "envoi", ["envoi", "serve", *args], venv_env())


def demo(args):
    os.execve(VENV_BIN / "envoi", ["envoi", "demo", *args], venv_env())


def bench(args):
    os.execve(VENV_BIN / "envoi", ["envoi", "bench", *args], venv_env())


def torture(args):
    os.execve(VENV_BIN / "envoi", ["envoi", "torture", *args], venv_env())


def test(args):
    os.chdir(ROOT)
    # A base temp dir of its own: pytest prunes old ones in the shared default
    # place, which breaks another run going on at the same time.
    basetemp = tempfile.mkdtemp(prefix="envoi-tests-")
    # Two workers (pytest-xdist), each module on one worker with its own server
    # and database; `-n 0` in ARGS runs in one process.
    workers = [] if any(arg.startswith("-n") for arg in args) else ["-n", "2", "--dist", "loadfile"]
    pytest = ["python", "-m", "pytest", f"--basetemp={basetemp}", *workers, *args]
    os.execve(VENV_BIN / "python", pytest, venv_env())


def generate(_args):
    shutil.rmtree(GENERATED_DIR, ignore_errors=True)
    shutil.rmtree(TS_GENERATED_DIR, ignore_errors=True)
    buf("generate")
    buf("generate", "--template", TS_TEMPLATE)


def check_proto(_args):
    buf("format", "--diff", "--exit-code")
    buf("lint")
    previous = subprocess.run(
        ["git", "cat-file", "-e", "HEAD~1:buf.yaml"], cwd=ROOT, capture_output=True
    )
    if previous.returncode == 0:
        buf("breaking", "--against", ".git#ref=HEAD~1")
    else:
        print("buf breaking: the previous commit has no buf.yaml; nothing to compare")
    with tempfile.TemporaryDirectory() as out:
        buf("generate", "--output", out)
        buf("generate", "--template", TS_TEMPLATE, "--output", out)
        for generated in (GENERATED_DIR, TS_GENERATED_DIR):
            fresh = pathlib.Path(out) / generated.relative_to(ROOT)
            stale = subprocess.run(["diff", "-r", "-x", "__pycache__", fresh, generated])
            if stale.returncode != 0:
                where = generated.relative_to(ROOT)
                sys.exit(f"{where} is stale: run `python3 tasks.py generate` and commit")
    print("protos: formatted, lint clean, no breaking change, generated code current")


def lint(_args):
    run(VENV_BIN / "ruff", "check", ROOT, cwd=ROOT)
    run(VENV_BIN / "ruff", "format", "--check", ROOT, cwd=ROOT)


COMMANDS = {
    "serve": serve,
    "demo": demo,
    "test": test,
    "generate": generate,
    "check-proto": check_proto,
    "lint": lint,
    "bench": bench,
    "torture": torture,
}

if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    ensure_venv()
    COMMANDS[sys.argv[1]](sys.argv[2:])
