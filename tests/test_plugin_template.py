"""`envoi plugins new NAME` makes a channel plugin that works as made: the
package it writes is installed as pip would install it, and its own end-to-end
tests pass on a real `envoi serve` that loads it through its entry point."""

import os
import subprocess
import sys

import pytest


def envoi(*args, cwd):
    return subprocess.run(
        [sys.executable, "-m", "envoi.core.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=60,
    )


def test_the_new_plugin_s_own_tests_pass(tmp_path, postgres_server_url):
    made = envoi("plugins", "new", "pigeon_post", "--into", str(tmp_path), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    root = tmp_path / "envoi-channel-pigeon-post"
    assert (root / "envoi_channel_pigeon_post" / "channel.py").is_file()
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        + ["--no-build-isolation", "--target", str(site), str(root)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    tested = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env={
            **os.environ,
            "PYTHONPATH": str(site),  # the installed plugin and its entry point
            "ENVOI_TEST_DATABASE_URL": postgres_server_url,
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert tested.returncode == 0, tested.stdout[-3000:] + tested.stderr[-3000:]
    assert "3 passed" in tested.stdout
    for check in (["check", "--select", "E,F,W,I,B"], ["format", "--check"]):
        linted = subprocess.run(
            [sys.executable, "-m", "ruff", *check, "--isolated", "--line-length", "100", "."],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert linted.returncode == 0, linted.stdout  # a newcomer starts from clean code


@pytest.mark.parametrize("name", ["Pigeon", "9lives", "pigeon-post", "p" * 33, ""])
def test_a_name_that_cannot_be_a_channel_s_is_refused(tmp_path, name):
    made = envoi("plugins", "new", name, "--into", str(tmp_path), cwd=tmp_path)
    assert made.returncode == 1 and "a channel's name is 1 to 32" in made.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_package_is_never_overwritten(tmp_path):
    assert envoi("plugins", "new", "pigeon", "--into", str(tmp_path), cwd=tmp_path).returncode == 0
    again = envoi("plugins", "new", "pigeon", "--into", str(tmp_path), cwd=tmp_path)
    assert again.returncode == 1 and "already exists" in again.stderr
