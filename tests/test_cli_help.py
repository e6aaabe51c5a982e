"""The `envoi` command's help: the commands, and every setting `envoi serve` reads."""

import re
import subprocess
import sys
from pathlib import Path

from envoi.core import config

ENVOI = Path(sys.executable).with_name("envoi")

# The ENVOI_* names core/config.py reads, from its source: a new setting
# without a line in the help makes this test fail.
CONFIG_VARIABLES = set(
    re.findall(r"""["'](ENVOI_[A-Z0-9_]+)["']""", Path(config.__file__).read_text())
)


def envoi_help(*args) -> str:
    done = subprocess.run([str(ENVOI), *args, "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_source_scan_finds_the_settings():
    assert {
        "ENVOI_DATABASE_URL",
        "ENVOI_CODE_KEY",
        "ENVOI_LISTEN",
        "ENVOI_WORKERS",
    } <= CONFIG_VARIABLES


def test_serve_help_documents_every_setting_on_a_line_of_its_own():
    text = envoi_help("serve")
    undocumented = {
        name for name in CONFIG_VARIABLES if not re.search(rf"^\s+{name}\s", text, re.MULTILINE)
    }
    assert not undocumented


def test_top_level_help_lists_the_commands():
    text = envoi_help()
    for command in ("serve", "migrate", "token", "account", "transfer"):
        assert re.search(rf"^\s+{command}\s", text, re.MULTILINE), command


def test_api_commands_name_their_environment_defaults():
    text = envoi_help("transfer", "send")
    assert "ENVOI_TARGET" in text and "ENVOI_TOKEN" in text
