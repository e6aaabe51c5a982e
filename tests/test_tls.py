"""TLS and mutual TLS for the gRPC server, with certificates made in the test."""

import dataclasses
import datetime
import ipaddress

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from server_process import free_port, run_envoi

from envoi.client import EnvoiClient, errors
from envoi.core import tls
from envoi.core.config import ConfigError, Settings
from envoi.core.testing import ServerOnThread


@dataclasses.dataclass
class Issued:
    cert_file: str
    key_file: str


class CertificateAuthority:
    def __init__(self, directory, name: str):
        self.directory = directory
        self.name = name
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name} test CA")])
        self.certificate = (
            self._builder(subject, self.key.public_key())
            .issuer_name(subject)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(self.key, hashes.SHA256())
        )
        self.cert_file = self._write(f"{name}-ca.pem", self._pem(self.certificate))

    @staticmethod
    def _builder(subject, public_key):
        now = datetime.datetime.now(datetime.timezone.utc)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    @staticmethod
    def _pem(certificate) -> bytes:
        return certificate.public_bytes(serialization.Encoding.PEM)

    def _write(self, filename: str, content: bytes) -> str:
        path = self.directory / filename
        path.write_bytes(content)
        return str(path)

    def issue(self, common_name: str, *, server: bool) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = self._builder(
            x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]), key.public_key()
        ).issuer_name(self.certificate.subject)
        if server:
            builder = builder.add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
        certificate = builder.sign(self.key, hashes.SHA256())
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return Issued(
            self._write(f"{self.name}-{common_name}.pem", self._pem(certificate)),
            self._write(f"{self.name}-{common_name}-key.pem", key_pem),
        )


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pki")
    ca, rogue = CertificateAuthority(directory, "envoi"), CertificateAuthority(directory, "rogue")
    return {
        "ca": ca,
        "rogue": rogue,
        "server": ca.issue("envoi-server", server=True),
        "client": ca.issue("wallet-backend", server=False),
        "rogue_client": rogue.issue("wallet-backend", server=False),
    }


@pytest.fixture
def serve_with(runtime):
    """serve_with(**tls settings) -> target "localhost:PORT" of a server using them."""
    servers = []

    def serve(**tls_settings):
        settings = dataclasses.replace(runtime.settings, **tls_settings)
        target = f"localhost:{free_port()}"
        servers.append(ServerOnThread(dataclasses.replace(runtime, settings=settings), target))
        return target

    yield serve
    for server in servers:
        server.stop()


def reaches(target: str, token: str, channel_credentials, account_id: str) -> bool:
    """Whether a call gets through. The client waits for the channel to be
    ready, so a handshake that keeps failing ends at the deadline."""
    client = EnvoiClient(
        target, token, credentials=channel_credentials, timeout_s=2.0, max_attempts=1
    )
    try:
        return client.get_account(account_id).account_id == account_id
    except errors.EnvoiError as error:
        assert error.code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
        return False
    finally:
        client.close()


def test_tls_serves_clients_that_trust_its_ca_and_no_one_else(
    pki, serve_with, make_token, open_account
):
    target = serve_with(tls_cert_file=pki["server"].cert_file, tls_key_file=pki["server"].key_file)
    token, account_id = make_token("admin"), open_account()
    trusting = tls.client_credentials({"ENVOI_TLS_CA_FILE": pki["ca"].cert_file})
    assert reaches(target, token, trusting, account_id)
    assert not reaches(target, token, None, account_id)  # plaintext
    distrusting = tls.client_credentials({"ENVOI_TLS_CA_FILE": pki["rogue"].cert_file})
    assert not reaches(target, token, distrusting, account_id)


def test_mutual_tls_requires_a_client_certificate_from_its_ca(
    pki, serve_with, make_token, open_account
):
    target = serve_with(
        tls_cert_file=pki["server"].cert_file,
        tls_key_file=pki["server"].key_file,
        tls_client_ca_file=pki["ca"].cert_file,
    )
    token, account_id = make_token("admin"), open_account()

    def client_env(issued=None) -> dict:
        env = {"ENVOI_TLS_CA_FILE": pki["ca"].cert_file}
        if issued:
            env.update(
                ENVOI_TLS_CLIENT_CERT_FILE=issued.cert_file,
                ENVOI_TLS_CLIENT_KEY_FILE=issued.key_file,
            )
        return env

    assert reaches(target, token, tls.client_credentials(client_env(pki["client"])), account_id)
    assert not reaches(target, token, tls.client_credentials(client_env()), account_id)
    assert not reaches(
        target, token, tls.client_credentials(client_env(pki["rogue_client"])), account_id
    )


def test_a_client_certificate_does_not_replace_the_token(pki, serve_with, open_account):
    target = serve_with(
        tls_cert_file=pki["server"].cert_file,
        tls_key_file=pki["server"].key_file,
        tls_client_ca_file=pki["ca"].cert_file,
    )
    env = {
        "ENVOI_TLS_CA_FILE": pki["ca"].cert_file,
        "ENVOI_TLS_CLIENT_CERT_FILE": pki["client"].cert_file,
        "ENVOI_TLS_CLIENT_KEY_FILE": pki["client"].key_file,
    }
    client = EnvoiClient(target, None, credentials=tls.client_credentials(env), max_attempts=1)
    with pytest.raises(errors.Unauthenticated):
        client.get_account(open_account())
    client.close()


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"tls_cert_file": "cert.pem"}, "go together"),
        ({"tls_key_file": "key.pem"}, "go together"),
        ({"tls_client_ca_file": "ca.pem"}, "needs ENVOI_TLS_CERT_FILE"),
    ],
)
def test_half_a_tls_setting_is_refused(settings, message):
    with pytest.raises(ConfigError, match=message):
        Settings(**settings)


def test_unreadable_files_are_named_without_their_contents(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the CA file .*missing.pem"):
        tls.client_credentials({"ENVOI_TLS_CA_FILE": str(tmp_path / "missing.pem")})
    with pytest.raises(ConfigError, match="go together"):
        tls.client_credentials({"ENVOI_TLS_CLIENT_CERT_FILE": "cert.pem"})
    assert tls.client_credentials({}) is None


def test_the_cli_connects_with_tls_when_told_the_ca(pki, serve_with, make_token, open_account):
    target = serve_with(tls_cert_file=pki["server"].cert_file, tls_key_file=pki["server"].key_file)
    token, account_id = make_token("admin"), open_account()

    done = run_envoi(
        "account",
        "get",
        account_id,
        timeout_s=60,
        ENVOI_TARGET=target,
        ENVOI_TOKEN=token,
        ENVOI_TLS_CA_FILE=pki["ca"].cert_file,
    )
    assert done.returncode == 0, done.stderr
    assert account_id in done.stdout
