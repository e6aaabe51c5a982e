"""verify_webhook (envoi.client) and what the worker's sender refuses to reach,
without a server: the signature format, the tolerance, rotation, and the
address checks (private, loopback) made at send time."""

import pytest

from envoi.client import verify_webhook
from envoi.client.webhooks import WebhookSignatureError, sign_webhook
from envoi.core.webhooks import sender, urls
from envoi.core.webhooks.worker import signature_header

BODY = b'{"id":"ZTE6MTox","type":"EVENT_TYPE_TRANSFER_COMPLETED"}'
NOW_S = 1_800_000_000


def test_a_signature_made_by_the_worker_verifies():
    header = signature_header(BODY, ["whsec_new", "whsec_old"], NOW_S)
    verify_webhook(BODY, header, "whsec_new", now_s=NOW_S)
    verify_webhook(BODY, header, "whsec_old", now_s=NOW_S + 300)
    assert header == (
        f"t={NOW_S},v1={sign_webhook(BODY, 'whsec_new', NOW_S)},"
        f"v1={sign_webhook(BODY, 'whsec_old', NOW_S)}"
    )


@pytest.mark.parametrize(
    "body, header, secret, now_s",
    [
        (BODY, None, "whsec_new", NOW_S),
        (BODY, "", "whsec_new", NOW_S),
        (BODY, "v1=abc", "whsec_new", NOW_S),
        (BODY, f"t={NOW_S}", "whsec_new", NOW_S),
        (BODY + b" ", "SIGNED", "whsec_new", NOW_S),
        (BODY, "SIGNED", "whsec_other", NOW_S),
        (BODY, "SIGNED", "whsec_new", NOW_S + 301),
        (BODY, "SIGNED", "whsec_new", NOW_S - 301),
        (BODY, "SIGNED" + ",v1=" + "0" * 64 * 100, "whsec_new", NOW_S),
    ],
)
def test_anything_else_is_refused(body, header, secret, now_s):
    if header and header.startswith("SIGNED"):
        header = signature_header(BODY, ["whsec_new"], NOW_S) + header[len("SIGNED") :]
    with pytest.raises(WebhookSignatureError):
        verify_webhook(body, header, secret, now_s=now_s)


@pytest.mark.parametrize(
    "address, refused",
    [
        ("8.8.8.8", False),
        ("2001:4860:4860::8888", False),
        ("127.0.0.1", True),
        ("::1", True),
        ("10.1.2.3", True),
        ("192.168.1.1", True),
        ("172.16.0.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("::ffff:10.0.0.1", True),
        ("fd00::1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
    ],
)
def test_only_public_addresses_are_reached(address, refused):
    assert bool(urls.address_refusal(address, allow_loopback=False)) == refused


def test_loopback_only_with_the_setting():
    assert urls.address_refusal("127.0.0.1", allow_loopback=True) is None
    assert urls.address_refusal("10.0.0.1", allow_loopback=True)
    assert urls.url_refusal("http://127.0.0.1:8080/h", allow_http_loopback=False)
    assert urls.url_refusal("http://127.0.0.1:8080/h", allow_http_loopback=True) is None
    assert urls.url_refusal("http://localhost/h", allow_http_loopback=True) is None
    assert urls.url_refusal("http://shop.example/h", allow_http_loopback=True)
    assert urls.url_refusal("https://shop.example/h", allow_http_loopback=False) is None


def test_the_sender_resolves_and_refuses_a_private_address_at_send_time():
    limits = sender.Limits(1.0, 1.0, 1024, allow_loopback=False)
    outcome = sender.post("https://localhost:9/hook", BODY, {}, limits)
    assert (outcome.status_code, outcome.error_class) == (None, "ADDRESS_REFUSED")
