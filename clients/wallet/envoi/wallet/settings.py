"""The wallet's settings, from ENVOI_* environment variables."""

from __future__ import annotations

import dataclasses
import urllib.parse

HELP = """\
The wallet reads its settings from the environment:
  ENVOI_TARGET                 envoi's gRPC address (default: localhost:50051)
  ENVOI_WALLET_TOKEN           a token of the wallet role (required)
  ENVOI_WALLET_LISTEN          host:port the pages are served on (default: localhost:8000)
  ENVOI_WALLET_PUBLIC_URL      the URL people reach it at (default: http://<listen>)
  ENVOI_WALLET_SECRET          the key that signs session cookies (required, 32+ characters)
  ENVOI_WALLET_X_API_URL       the X API (default: https://api.twitter.com)
  ENVOI_WALLET_X_AUTHORIZE_URL X's authorize page (default: <X API>/2/oauth2/authorize;
                               https://x.com/i/oauth2/authorize for the real X)
  ENVOI_WALLET_X_CLIENT_ID     the wallet's OAuth 2.0 client id at X
  ENVOI_WALLET_X_CLIENT_SECRET and its secret
  ENVOI_WALLET_MESSENGER_PAGE_TOKEN  the Messenger page's access token: turns on
                               signing in from Messenger (account linking); empty: off
  ENVOI_WALLET_MESSENGER_API_URL     the Graph API (default: https://graph.facebook.com)
  ENVOI_WALLET_MESSENGER_API_VERSION its version (default: v21.0)
  ENVOI_WALLET_MESSENGER_LINKING_URL where Messenger's redirect_uri must lead (default:
                               https://www.facebook.com/messenger_platform/account_linking/)
  ENVOI_WALLET_PROVIDER        the payment provider for cards and payouts (default: sandbox)
  ENVOI_WALLET_METRICS_LISTEN  Prometheus metrics (default: localhost:9467; empty: off)
"""


class SettingsError(ValueError):
    """A missing or malformed setting; the message names it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    target: str = "localhost:50051"
    token: str = dataclasses.field(default="", repr=False)
    listen: str = "localhost:8000"
    public_url: str = ""
    secret: str = dataclasses.field(default="", repr=False)
    x_api_url: str = "https://api.twitter.com"
    x_authorize_url: str = ""
    x_client_id: str = ""
    x_client_secret: str = dataclasses.field(default="", repr=False)
    provider: str = "sandbox"
    messenger_page_token: str = dataclasses.field(default="", repr=False)
    messenger_api_url: str = "https://graph.facebook.com"
    messenger_api_version: str = "v21.0"
    messenger_linking_url: str = "https://www.facebook.com/messenger_platform/account_linking/"
    metrics_listen: str = "localhost:9467"  # 9464-9466: serve, gateway, webhooks

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def host_port(self) -> tuple[str, int]:
        return split_listen(self.listen)

    @classmethod
    def from_env(cls, env) -> Settings:
        listen = env.get("ENVOI_WALLET_LISTEN") or cls.listen
        split_listen(listen)
        public_url = (env.get("ENVOI_WALLET_PUBLIC_URL") or f"http://{listen}").rstrip("/")
        if urllib.parse.urlsplit(public_url).scheme not in ("http", "https"):
            raise SettingsError("ENVOI_WALLET_PUBLIC_URL must be an http(s) URL")
        x_api_url = (env.get("ENVOI_WALLET_X_API_URL") or cls.x_api_url).rstrip("/")
        settings = cls(
            target=env.get("ENVOI_TARGET") or cls.target,
            token=env.get("ENVOI_WALLET_TOKEN", ""),
            listen=listen,
            public_url=public_url,
            secret=env.get("ENVOI_WALLET_SECRET", ""),
            x_api_url=x_api_url,
            x_authorize_url=env.get("ENVOI_WALLET_X_AUTHORIZE_URL")
            or f"{x_api_url}/2/oauth2/authorize",
            x_client_id=env.get("ENVOI_WALLET_X_CLIENT_ID", ""),
            x_client_secret=env.get("ENVOI_WALLET_X_CLIENT_SECRET", ""),
            provider=env.get("ENVOI_WALLET_PROVIDER") or cls.provider,
            messenger_page_token=env.get("ENVOI_WALLET_MESSENGER_PAGE_TOKEN", ""),
            messenger_api_url=(
                env.get("ENVOI_WALLET_MESSENGER_API_URL") or cls.messenger_api_url
            ).rstrip("/"),
            messenger_api_version=env.get("ENVOI_WALLET_MESSENGER_API_VERSION")
            or cls.messenger_api_version,
            messenger_linking_url=env.get("ENVOI_WALLET_MESSENGER_LINKING_URL")
            or cls.messenger_linking_url,
            metrics_listen=env.get("ENVOI_WALLET_METRICS_LISTEN", cls.metrics_listen),
        )
        if not settings.token:
            raise SettingsError("ENVOI_WALLET_TOKEN is required (a token of the wallet role)")
        if len(settings.secret) < 32:
            raise SettingsError("ENVOI_WALLET_SECRET is required: 32 characters or more")
        return settings


def split_listen(listen: str) -> tuple[str, int]:
    host, _, port = listen.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise SettingsError(f"not a host:port: {listen!r}")
    return host.strip("[]"), int(port)
