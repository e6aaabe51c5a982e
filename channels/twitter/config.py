"""The Twitter/X channel's settings, from ENVOI_TWITTER_* environment variables."""

import dataclasses

from envoi.channels.grammar import keywords_from_env

DEFAULT_API_BASE_URL = "https://api.twitter.com"

SETTINGS_HELP = """\
Twitter/X channel (loaded when ENVOI_TWITTER_CONSUMER_SECRET or
ENVOI_TWITTER_BEARER_TOKEN is set):
  ENVOI_TWITTER_BOT_HANDLE            the bot's handle, without "@" (default: SmoneyFR)
  ENVOI_TWITTER_BOT_USER_ID           the bot's numeric user id (polling needs it)
  ENVOI_TWITTER_API_BASE_URL          the X API host (default: https://api.twitter.com)
  ENVOI_TWITTER_CONSUMER_KEY          app key: with the access token, signs what the bot posts
  ENVOI_TWITTER_CONSUMER_SECRET       app secret: checks webhook signatures, answers CRC
  ENVOI_TWITTER_ACCESS_TOKEN          the bot's OAuth 1.0a access token
  ENVOI_TWITTER_ACCESS_TOKEN_SECRET   and its secret
  ENVOI_TWITTER_BEARER_TOKEN          OAuth 2.0 token, used when no access token is set
  ENVOI_TWITTER_POLL_INTERVAL_S       seconds between mention polls; 0 turns polling off
                                      (default: 60)
  ENVOI_CHANNEL_KEYWORDS              payment hashtags, without "#" (default: envoyer,send)
  ENVOI_WALLET_PUBLIC_URL             the wallet's URL: a payment to confirm is answered with
                                      a link to <URL>/confirm/<transfer id> (default: none)
"""


@dataclasses.dataclass(frozen=True)
class TwitterConfig:
    bot_handle: str = "SmoneyFR"
    bot_user_id: str = ""
    api_base_url: str = DEFAULT_API_BASE_URL
    consumer_key: str = dataclasses.field(default="", repr=False)
    consumer_secret: str = dataclasses.field(default="", repr=False)
    access_token: str = dataclasses.field(default="", repr=False)
    access_token_secret: str = dataclasses.field(default="", repr=False)
    bearer_token: str = dataclasses.field(default="", repr=False)
    poll_interval_s: float = 60.0
    keywords: tuple[str, ...] = ("envoyer", "send")
    wallet_public_url: str = ""

    @classmethod
    def from_env(cls, env) -> "TwitterConfig | None":
        """The configuration, or None when the channel is not configured."""
        if not (env.get("ENVOI_TWITTER_CONSUMER_SECRET") or env.get("ENVOI_TWITTER_BEARER_TOKEN")):
            return None
        return cls(
            bot_handle=env.get("ENVOI_TWITTER_BOT_HANDLE") or cls.bot_handle,
            bot_user_id=env.get("ENVOI_TWITTER_BOT_USER_ID", ""),
            api_base_url=env.get("ENVOI_TWITTER_API_BASE_URL") or DEFAULT_API_BASE_URL,
            consumer_key=env.get("ENVOI_TWITTER_CONSUMER_KEY", ""),
            consumer_secret=env.get("ENVOI_TWITTER_CONSUMER_SECRET", ""),
            access_token=env.get("ENVOI_TWITTER_ACCESS_TOKEN", ""),
            access_token_secret=env.get("ENVOI_TWITTER_ACCESS_TOKEN_SECRET", ""),
            bearer_token=env.get("ENVOI_TWITTER_BEARER_TOKEN", ""),
            poll_interval_s=float(env.get("ENVOI_TWITTER_POLL_INTERVAL_S") or 60),
            keywords=keywords_from_env(env),
            wallet_public_url=env.get("ENVOI_WALLET_PUBLIC_URL", "").rstrip("/"),
        )
