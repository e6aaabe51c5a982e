"""The Messenger channel's settings, from MESSENGER_* environment variables."""

import dataclasses

from envoi.channels.grammar import keywords_from_env

DEFAULT_GRAPH_API_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_API_VERSION = "v21.0"

SETTINGS_HELP = """\
Messenger channel (package envoi-channel-messenger; loaded when MESSENGER_APP_SECRET is set):
  MESSENGER_APP_SECRET          the Meta app's secret: checks X-Hub-Signature-256 of every POST
  MESSENGER_VERIFY_TOKEN        the token you gave Meta for the webhook's verification GET
  MESSENGER_PAGE_ACCESS_TOKEN   the page's access token: sends replies through the Send API
  MESSENGER_PAGE_ID             the page's id: messages to other pages are not taken in
  MESSENGER_DEFAULT_NETWORK     the network of a plain `@alice` (default: twitter);
                                empty: people must write `@twitter:alice`
  MESSENGER_GRAPH_API_URL       the Graph API host (default: https://graph.facebook.com)
  MESSENGER_GRAPH_API_VERSION   the Graph API version (default: v21.0)
  ENVOI_CHANNEL_KEYWORDS        payment words (default: envoyer,send)
"""

REQUIRED = ("MESSENGER_VERIFY_TOKEN", "MESSENGER_PAGE_ACCESS_TOKEN", "MESSENGER_PAGE_ID")


@dataclasses.dataclass(frozen=True)
class MessengerConfig:
    page_id: str
    app_secret: str = dataclasses.field(repr=False)
    verify_token: str = dataclasses.field(repr=False)
    page_access_token: str = dataclasses.field(repr=False)
    default_network: str = "twitter"
    graph_api_url: str = DEFAULT_GRAPH_API_URL
    graph_api_version: str = DEFAULT_GRAPH_API_VERSION
    keywords: tuple[str, ...] = ("envoyer", "send")

    @classmethod
    def from_env(cls, env) -> "MessengerConfig | None":
        """The configuration, or None when the channel is not configured.
        A half-made configuration is an error, named without its values."""
        if not env.get("MESSENGER_APP_SECRET"):
            return None
        missing = [name for name in REQUIRED if not env.get(name)]
        if missing:
            raise ValueError(f"the Messenger channel also needs {', '.join(missing)}")
        return cls(
            page_id=env["MESSENGER_PAGE_ID"],
            app_secret=env["MESSENGER_APP_SECRET"],
            verify_token=env["MESSENGER_VERIFY_TOKEN"],
            page_access_token=env["MESSENGER_PAGE_ACCESS_TOKEN"],
            default_network=env.get("MESSENGER_DEFAULT_NETWORK", "twitter").strip(),
            graph_api_url=(env.get("MESSENGER_GRAPH_API_URL") or DEFAULT_GRAPH_API_URL).rstrip("/"),
            graph_api_version=env.get("MESSENGER_GRAPH_API_VERSION") or DEFAULT_GRAPH_API_VERSION,
            keywords=keywords_from_env(env),
        )
