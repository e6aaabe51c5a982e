"""envoi's settings: read once from ENVOI_* environment variables, overridable by flags.

Every setting is listed in SETTINGS_HELP, which `envoi serve --help` prints, so
the help and the code cannot drift apart.
"""

import dataclasses
import os
import pathlib

SETTINGS_HELP = """\
environment variables:
  ENVOI_DATABASE_URL               PostgreSQL URL of the server's role, a member of
                                   envoi_server that owns no table (serve refuses an
                                   owner or a superuser; docs/operations.md); unset:
                                   an embedded PostgreSQL 16 in ENVOI_DATA_DIR/pgdata,
                                   kept across restarts, roles and URLs made by envoi
  ENVOI_MIGRATION_DATABASE_URL     URL of the tables' owner: `envoi migrate` uses it,
                                   and `envoi serve` migrates at start when it is
                                   set (unset: serve checks the schema is current)
  ENVOI_GATEWAY_DATABASE_URL       URL of the gateway's role, a member of
                                   envoi_gateway (its own tables only); needed
                                   with ENVOI_DATABASE_URL when a channel is set up
  ENVOI_WEBHOOKS_DATABASE_URL      URL of the webhooks worker's role, a member of
                                   envoi_webhooks: serve then runs `envoi webhooks`
                                   as a child process (the embedded database's is
                                   derived; docs/operations.md)
  ENVOI_DATA_DIR                   embedded database and generated key file
                                   (default: ~/.local/share/envoi)
  ENVOI_CODE_KEY                   secret key (>= 32 characters) for the HMAC of
                                   confirmation codes; never stored in the database.
                                   Unset with the embedded database: a key is
                                   generated once into ENVOI_DATA_DIR/code.key.
                                   Required with ENVOI_DATABASE_URL.
  ENVOI_LISTEN                     gRPC address (default: localhost:50051)
  ENVOI_WORKERS                    server processes sharing the port (default: 1)
  ENVOI_CURRENCIES                 accepted ISO 4217 codes, the first is the
                                   default (default: EUR)
  ENVOI_CONFIRMATION_TIMEOUT_S     pending transfers expire after this (default: 900)
  ENVOI_MAX_TO_PERSON_CENTS        per-transfer cap to a person (default: 25000)
  ENVOI_MAX_TO_ORGANISATION_CENTS  per-transfer cap to an association or a
                                   merchant (default: 50000)
  ENVOI_MERCHANT_FEE_BASIS_POINTS  a new merchant's fee on each payment to it, in
                                   hundredths of a percent (150 = 1.5 %), rounded
                                   half up to the cent (default: 0); an admin sets
                                   each merchant's own with SetMerchantFees
  ENVOI_MERCHANT_FEE_FIXED_CENTS   ... plus this fixed part (default: 0)
  ENVOI_DAILY_CAP_CENTS            what one account may send in any 24 hours
                                   (default: 100000; 0 means no daily cap)
  ENVOI_CLAIM_WINDOW_S             money paid to an identity without an account
                                   waits this long in escrow, then goes back to
                                   the sender (default: 1209600, 14 days)
  ENVOI_UNVERIFIED_MAX_BALANCE_CENTS     an unverified account's maximum balance
                                        (default: 150000; 0 means none)
  ENVOI_UNVERIFIED_MONTHLY_OUT_CENTS    what an unverified account may send in any
                                        30 days (default: 250000; 0 means no limit)
  ENVOI_VERIFIED_MAX_BALANCE_CENTS      the same for verified accounts
                                        (default: 10000000)
  ENVOI_VERIFIED_MONTHLY_OUT_CENTS      (default: 2000000)
  ENVOI_IDENTITY_RATE_PER_MIN      InitiateTransfer from one social identity: this
                                   many a minute, per server process (default: 10;
                                   0 turns the limit off)
  ENVOI_IDENTITY_RATE_BURST        ... after a burst of this many (default: 5)
  ENVOI_CHANNEL_PENDING_MAX_COUNT  payments channels started from one account that
                                   may wait for its code at once (default: 5)
  ENVOI_CHANNEL_PENDING_MAX_CENTS  ... and what they may hold in all (default: 25000)
  ENVOI_CODE_MAX_ATTEMPTS          wrong codes before confirmations lock (default: 3)
  ENVOI_CODE_RESET_HOLD_S          after an admin's ResetCode, no money leaves the
                                   account by a path that needs its code for this
                                   long (default: 86400, 24 hours; at least 3600)
  ENVOI_IDEMPOTENCY_RETENTION_S    how long request ids are kept (default: 86400,
                                   the minimum)
  ENVOI_SHUTDOWN_GRACE_S           on SIGTERM, time left to in-flight RPCs (default: 10)
  ENVOI_DB_POOL_SIZE               database connections per process, in each of its
                                   two pools (the threaded services', and the core
                                   operations' and their batches') (default: 16)
  ENVOI_GRPC_THREADS               RPC handler threads per process (default: 32)
  ENVOI_GROUP_COMMIT_IN_FLIGHT     payments (initiate, confirm, cancel) arriving
                                   together commit together, a batch a transaction;
                                   this many batches at once per process (default: 2)
  ENVOI_EVENT_RECHECK_S            WatchEvents streams wake on PostgreSQL NOTIFY; as a
                                   safety net, each process also reads the outbox
                                   this often without one (default: 5)
  ENVOI_HISTORY_SETTLE_S           a balance in the past (GetBalance as_of, statements)
                                   is answered only for times at least this long ago,
                                   and before every open transaction's start
                                   (docs/statements.md) (default: 1)
  ENVOI_TLS_CERT_FILE              serve gRPC over TLS with this certificate (PEM)
  ENVOI_TLS_KEY_FILE               ... and this private key (PEM); both or neither
  ENVOI_TLS_CLIENT_CA_FILE         mutual TLS: require a client certificate
                                   signed by this CA (PEM)
  ENVOI_TLS_CA_FILE                for envoi's own clients (the gateway, the CLI):
                                   connect with TLS, trusting this CA (PEM)
  ENVOI_TLS_CLIENT_CERT_FILE       the clients' certificate, for a server with
                                   mutual TLS
  ENVOI_TLS_CLIENT_KEY_FILE        ... and its private key; both or neither
  ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK  1: a webhook endpoint may be http:// to
                                   localhost, 127.0.0.1 or [::1] (tests and local
                                   development only; `envoi webhooks` reads it too
                                   and then connects to loopback addresses)
  ENVOI_TOKEN_CACHE_S              a live bearer token is looked up again after this;
                                   a revoked token may work this long on a server
                                   that saw it (default: 2; 0 looks up every call)

metrics, logs and traces (docs/operations.md):
  ENVOI_METRICS_LISTEN             Prometheus metrics of serve (all its workers) at
                                   http://ADDRESS/metrics (default: localhost:9464;
                                   empty: off)
  ENVOI_GATEWAY_METRICS_LISTEN     ... of the channel gateway (default: localhost:9465)
  ENVOI_WEBHOOKS_METRICS_LISTEN    ... of the webhooks worker (default: localhost:9466)
  ENVOI_METRICS_DATABASE_INTERVAL_S  the gauges read from the database (transfers,
                                   backlogs) are read at most this often
                                   (default: 10; 0: at every scrape)
  ENVOI_LOG_FORMAT                 text (default) or json: one JSON object a line,
                                   with the RPC's request_id and the trace_id
  OTEL_EXPORTER_OTLP_ENDPOINT      traces over OTLP/HTTP to this collector (e.g.
                                   http://localhost:4318); off when unset, unless
                                   OTEL_TRACES_EXPORTER=otlp; the other OTEL_*
                                   variables of OpenTelemetry apply
"""

MIN_IDEMPOTENCY_RETENTION_S = 24 * 3600
# A reset hold shorter than this would not give an owner time to notice.
MIN_CODE_RESET_HOLD_S = 3600


class ConfigError(ValueError):
    """A setting is missing or invalid; the message names it."""


@dataclasses.dataclass(frozen=True)
class Settings:
    # Secrets stay out of repr(), so logging the settings cannot leak them.
    database_url: str | None = dataclasses.field(default=None, repr=False)
    migration_database_url: str | None = dataclasses.field(default=None, repr=False)
    gateway_database_url: str | None = dataclasses.field(default=None, repr=False)
    webhooks_database_url: str | None = dataclasses.field(default=None, repr=False)
    data_dir: pathlib.Path = pathlib.Path.home() / ".local/share/envoi"
    code_key: bytes | None = dataclasses.field(default=None, repr=False)
    listen: str = "localhost:50051"
    workers: int = 1
    currencies: tuple[str, ...] = ("EUR",)
    confirmation_timeout_s: int = 900
    claim_window_s: int = 14 * 24 * 3600
    max_to_person_cents: int = 25_000
    max_to_organisation_cents: int = 50_000
    daily_cap_cents: int = 100_000
    merchant_fee_basis_points: int = 0
    merchant_fee_fixed_cents: int = 0
    code_max_attempts: int = 3
    code_reset_hold_s: int = 24 * 3600
    unverified_max_balance_cents: int = 150_000
    unverified_monthly_out_cents: int = 250_000
    verified_max_balance_cents: int = 10_000_000
    verified_monthly_out_cents: int = 2_000_000
    idempotency_retention_s: int = MIN_IDEMPOTENCY_RETENTION_S
    shutdown_grace_s: float = 10.0
    db_pool_size: int = 16
    grpc_threads: int = 32
    # Batches of ledger calls in the database at once (core/ledger/group_commit.py).
    group_commit_in_flight: int = 2
    event_recheck_s: float = 5.0
    # A transaction takes its start time a moment before pg_stat_activity shows
    # it: a balance in the past waits this long at least (docs/statements.md).
    history_settle_s: float = 1.0
    token_cache_s: float = 2.0
    identity_rate_per_min: int = 10
    identity_rate_burst: int = 5
    channel_pending_max_count: int = 5
    channel_pending_max_cents: int = 25_000
    tls_cert_file: str | None = None
    tls_key_file: str | None = None
    tls_client_ca_file: str | None = None
    webhooks_allow_http_loopback: bool = False

    def __post_init__(self):
        for name in (
            "workers",
            "confirmation_timeout_s",
            "claim_window_s",
            "max_to_person_cents",
            "max_to_organisation_cents",
            "code_max_attempts",
            "db_pool_size",
            "grpc_threads",
            "group_commit_in_flight",
            "channel_pending_max_count",
            "channel_pending_max_cents",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1")
        if self.event_recheck_s <= 0:
            raise ConfigError("event_recheck_s must be more than 0")
        if bool(self.tls_cert_file) != bool(self.tls_key_file):
            raise ConfigError("ENVOI_TLS_CERT_FILE and ENVOI_TLS_KEY_FILE go together")
        if self.tls_client_ca_file and not self.tls_cert_file:
            raise ConfigError("ENVOI_TLS_CLIENT_CA_FILE needs ENVOI_TLS_CERT_FILE (mutual TLS)")
        if self.identity_rate_per_min < 0 or self.identity_rate_burst < 1:
            raise ConfigError(
                "identity_rate_per_min must not be negative, identity_rate_burst at least 1"
            )
        if self.history_settle_s < 0:
            raise ConfigError("history_settle_s must not be negative")
        if self.token_cache_s < 0:
            raise ConfigError("token_cache_s must not be negative")
        if self.shutdown_grace_s < 0:
            raise ConfigError("shutdown_grace_s must not be negative")
        for name in (
            "daily_cap_cents",
            "unverified_max_balance_cents",
            "unverified_monthly_out_cents",
            "verified_max_balance_cents",
            "verified_monthly_out_cents",
        ):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        if not 0 <= self.merchant_fee_basis_points <= 10_000:
            raise ConfigError("merchant_fee_basis_points must be between 0 and 10000 (100 %)")
        if not 0 <= self.merchant_fee_fixed_cents <= 100_000:
            raise ConfigError("merchant_fee_fixed_cents must be between 0 and 100000")
        if self.code_reset_hold_s < MIN_CODE_RESET_HOLD_S:
            raise ConfigError("code_reset_hold_s must be at least 3600 (1 hour)")
        if self.idempotency_retention_s < MIN_IDEMPOTENCY_RETENTION_S:
            raise ConfigError("idempotency_retention_s must be at least 86400 (24 hours)")
        if not self.currencies or any(
            len(c) != 3 or not c.isascii() or not c.isupper() for c in self.currencies
        ):
            raise ConfigError("currencies must be ISO 4217 codes such as EUR")
        if self.code_key is not None and len(self.code_key) < 32:
            raise ConfigError("the code key must be at least 32 bytes long")

    @property
    def default_currency(self) -> str:
        return self.currencies[0]


def _int(env, name, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer") from None


def _float(env, name, default):
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds") from None


def from_environment(env=os.environ, **overrides) -> Settings:
    """Settings from ENVOI_* variables; keyword overrides (from flags) win when not None."""
    values = {
        "database_url": env.get("ENVOI_DATABASE_URL") or None,
        "migration_database_url": env.get("ENVOI_MIGRATION_DATABASE_URL") or None,
        "gateway_database_url": env.get("ENVOI_GATEWAY_DATABASE_URL") or None,
        "webhooks_database_url": env.get("ENVOI_WEBHOOKS_DATABASE_URL") or None,
        "data_dir": pathlib.Path(env["ENVOI_DATA_DIR"])
        if env.get("ENVOI_DATA_DIR")
        else Settings.data_dir,
        "code_key": env["ENVOI_CODE_KEY"].encode() if env.get("ENVOI_CODE_KEY") else None,
        "listen": env.get("ENVOI_LISTEN") or Settings.listen,
        "workers": _int(env, "ENVOI_WORKERS", Settings.workers),
        "currencies": tuple(
            c.strip() for c in env.get("ENVOI_CURRENCIES", "EUR").split(",") if c.strip()
        ),
        "claim_window_s": _int(env, "ENVOI_CLAIM_WINDOW_S", Settings.claim_window_s),
        "max_to_person_cents": _int(env, "ENVOI_MAX_TO_PERSON_CENTS", Settings.max_to_person_cents),
        "daily_cap_cents": _int(env, "ENVOI_DAILY_CAP_CENTS", Settings.daily_cap_cents),
        # Integers named ENVOI_<NAME>.
        **{
            name: _int(env, "ENVOI_" + name.upper(), getattr(Settings, name))
            for name in (
                "confirmation_timeout_s",
                "max_to_organisation_cents",
                "merchant_fee_basis_points",
                "merchant_fee_fixed_cents",
                "idempotency_retention_s",
                "group_commit_in_flight",
                "identity_rate_per_min",
                "channel_pending_max_count",
                "channel_pending_max_cents",
                "unverified_max_balance_cents",
                "unverified_monthly_out_cents",
                "verified_max_balance_cents",
                "verified_monthly_out_cents",
            )
        },
        "code_max_attempts": _int(env, "ENVOI_CODE_MAX_ATTEMPTS", Settings.code_max_attempts),
        "code_reset_hold_s": _int(env, "ENVOI_CODE_RESET_HOLD_S", Settings.code_reset_hold_s),
        "shutdown_grace_s": _float(env, "ENVOI_SHUTDOWN_GRACE_S", Settings.shutdown_grace_s),
        "db_pool_size": _int(env, "ENVOI_DB_POOL_SIZE", Settings.db_pool_size),
        "grpc_threads": _int(env, "ENVOI_GRPC_THREADS", Settings.grpc_threads),
        "event_recheck_s": _float(env, "ENVOI_EVENT_RECHECK_S", Settings.event_recheck_s),
        "token_cache_s": _float(env, "ENVOI_TOKEN_CACHE_S", Settings.token_cache_s),
        "history_settle_s": _float(env, "ENVOI_HISTORY_SETTLE_S", Settings.history_settle_s),
        "identity_rate_burst": _int(env, "ENVOI_IDENTITY_RATE_BURST", Settings.identity_rate_burst),
        "tls_cert_file": env.get("ENVOI_TLS_CERT_FILE") or None,
        "tls_key_file": env.get("ENVOI_TLS_KEY_FILE") or None,
        "tls_client_ca_file": env.get("ENVOI_TLS_CLIENT_CA_FILE") or None,
        "webhooks_allow_http_loopback": env.get("ENVOI_WEBHOOKS_ALLOW_HTTP_LOOPBACK") == "1",
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    return Settings(**values)
