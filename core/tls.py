"""TLS for gRPC: the server's credentials (mutual TLS when a client CA is
given: every client must present a certificate it signed), and those envoi's
own clients (the gateway, the CLI) use to reach a server that speaks TLS.

Only file paths are in the settings; the files are read here, and their
contents never reach a log or an error message.
"""

import os
import pathlib

import grpc

from envoi.core.config import ConfigError


def _read(path: str, what: str) -> bytes:
    try:
        return pathlib.Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the {what} {path}: {exc.strerror}") from None


def server_credentials(
    cert_file: str, key_file: str, client_ca_file: str | None = None
) -> grpc.ServerCredentials:
    client_ca = _read(client_ca_file, "client CA file") if client_ca_file else None
    return grpc.ssl_server_credentials(
        [(_read(key_file, "TLS key file"), _read(cert_file, "TLS certificate file"))],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def client_credentials(env=os.environ) -> grpc.ChannelCredentials | None:
    """From ENVOI_TLS_CA_FILE and ENVOI_TLS_CLIENT_CERT_FILE/_KEY_FILE; None
    (plaintext) when none is set."""
    ca_file = env.get("ENVOI_TLS_CA_FILE")
    cert_file = env.get("ENVOI_TLS_CLIENT_CERT_FILE")
    key_file = env.get("ENVOI_TLS_CLIENT_KEY_FILE")
    if not (ca_file or cert_file or key_file):
        return None
    if bool(cert_file) != bool(key_file):
        raise ConfigError("ENVOI_TLS_CLIENT_CERT_FILE and ENVOI_TLS_CLIENT_KEY_FILE go together")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(ca_file, "CA file") if ca_file else None,
        private_key=_read(key_file, "client key file") if key_file else None,
        certificate_chain=_read(cert_file, "client certificate file") if cert_file else None,
    )
