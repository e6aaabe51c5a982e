"""The Mastodon channel's settings, from MASTODON_* environment variables."""

import dataclasses

from envoi.channels.grammar import keywords_from_env

SETTINGS_HELP = """\
Mastodon channel (package envoi-channel-mastodon; loaded when MASTODON_ACCESS_TOKEN is set):
  MASTODON_BASE_URL             the bot's server (e.g. https://envoi.social)
  MASTODON_ACCESS_TOKEN         the bot account's access token (read:notifications write:statuses)
  MASTODON_BOT_ACCT             the bot's address, username@server (e.g. envoi@envoi.social)
  MASTODON_READ_TIMEOUT_S       seconds without a byte before the stream is opened again
                                (default: 60; the server sends a keep-alive every 15)
  ENVOI_CHANNEL_KEYWORDS        payment hashtags (default: envoyer,send)
"""

REQUIRED = ("MASTODON_BASE_URL", "MASTODON_BOT_ACCT")


@dataclasses.dataclass(frozen=True)
class MastodonConfig:
    base_url: str
    bot_acct: str  # username@server, lower case
    access_token: str = dataclasses.field(repr=False)
    read_timeout_s: float = 60.0
    keywords: tuple[str, ...] = ("envoyer", "send")

    @property
    def domain(self) -> str:
        return self.bot_acct.partition("@")[2]

    @classmethod
    def from_env(cls, env) -> "MastodonConfig | None":
        """The configuration, or None when the channel is not configured. A
        half-made configuration is an error, named without its values."""
        if not env.get("MASTODON_ACCESS_TOKEN"):
            return None
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise ValueError(f"the Mastodon channel also needs {', '.join(missing)}")
        bot_acct = env["MASTODON_BOT_ACCT"].strip().removeprefix("@").lower()
        if bot_acct.count("@") != 1:
            raise ValueError("MASTODON_BOT_ACCT must be username@server")
        return cls(
            base_url=env["MASTODON_BASE_URL"].rstrip("/"),
            bot_acct=bot_acct,
            access_token=env["MASTODON_ACCESS_TOKEN"],
            read_timeout_s=float(env.get("MASTODON_READ_TIMEOUT_S") or 60),
            keywords=keywords_from_env(env),
        )
