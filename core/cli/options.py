"""What several commands share: the database options, the settings they make,
and printing JSON."""

import json
import pathlib

from envoi.core import config


def settings(args) -> config.Settings:
    return config.from_environment(
        database_url=getattr(args, "database_url", None),
        data_dir=pathlib.Path(args.data_dir) if getattr(args, "data_dir", None) else None,
        listen=getattr(args, "listen", None),
        workers=getattr(args, "workers", None),
    )


def print_json(value) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


def database_options(p, variable="ENVOI_DATABASE_URL"):
    p.add_argument(
        "--database-url",
        help=f"PostgreSQL URL (default: {variable}, else the embedded PostgreSQL)",
    )
    p.add_argument(
        "--data-dir",
        help="embedded database directory (default: ENVOI_DATA_DIR or ~/.local/share/envoi)",
    )
