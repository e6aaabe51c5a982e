"""The `envoi` command's help: the commands, and every setting `envoi serve` reads."""

import re
import subprocess
import sys
from pathlib import Path

from envoi.core import config, observability

ENVOI = Path(sys.executable).with_name("envoi")

# The ENVOI_* names core/config.py reads, from its source: a new setting
# without a line in the help makes this test fail.
# The same for the observability package's (metrics, logs).
CONFIG_VARIABLES = {
    name
    for source in (Path(config.__file__), *Path(observability.__file__).parent.glob("*.py"))
    for name in re.findall(r"""["'](ENVOI_[A-Z0-9_]+)["']""", source.read_text())
}


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


def ops_modules_loaded_by(*argv) -> list[str]:
    """The envoi.core.ops modules imported by parsing argv (the command does not run)."""
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from envoi.core import cli; cli.build_parser().parse_args(sys.argv[1:]);"
            " print(' '.join(m for m in sys.modules if m.startswith('envoi.core.ops')))",
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_only_the_tooling_commands_import_the_tooling():
    assert ops_modules_loaded_by("serve") == []
    assert ops_modules_loaded_by("parse", "x") == []
    assert "envoi.core.ops.bench" in ops_modules_loaded_by("bench", "--out", "o")
    assert "envoi.core.ops.torture" in ops_modules_loaded_by("torture", "--out", "o")


def test_plugin_settings_come_through_their_hook():
    assert "ENVOI_TWITTER_CONSUMER_SECRET" in envoi_help("gateway")
    assert "ENVOI_SANDBOX_WEBHOOK_SECRET" in envoi_help("serve")
