"""ApiKeyService: merchants' API keys. An admin creates a merchant's first key;
the merchant creates, lists, rotates and revokes its own; secrets are shown
once and kept nowhere (only their SHA-256), not even for a retry.

This module's server looks tokens up on every call (token_cache_s=0), so a
revoked key is refused at once; docs/roles.md says how long a server with
the cache may still take it."""

import hashlib
import logging
import uuid

import psycopg
import pytest

from envoi.client import errors
from envoi.core.auth import api_keys, api_tokens
from envoi.core.config import Settings
from envoi.core.testing import TEST_CODE_KEY


@pytest.fixture(scope="module")
def settings(database_url):
    return Settings(
        database_url=database_url,
        code_key=TEST_CODE_KEY,
        currencies=("EUR", "USD"),
        token_cache_s=0.0,
    )


@pytest.fixture
def shop(open_account, admin, client_for):
    """A merchant of this test alone, with a first key made by the admin:
    (account id, that key's CreateApiKeyResponse, a client holding it)."""
    account_id = open_account("MERCHANT")
    first = admin.create_api_key(account_id, label="first")
    return account_id, first, client_for(first.secret)


def test_the_admin_creates_a_merchants_first_key_shown_once(shop, db):
    account_id, first, merchant = shop
    key = first.api_key
    assert first.secret.startswith("envoi_") and len(first.secret) > 40
    assert (key.account_id, key.label, key.secret_last4, key.revoked) == (
        account_id,
        "first",
        first.secret[-4:],
        False,
    )
    assert not key.HasField("revoke_time") and key.HasField("create_time")
    assert merchant.get_balance(account_id).account_id == account_id  # the key works
    # Kept only as its SHA-256; the answer kept for retries has no secret.
    assert db.execute(
        "SELECT token_sha256 FROM api_tokens WHERE token_id = %s", (key.api_key_id,)
    ).fetchone() == (hashlib.sha256(first.secret.encode()).digest(),)
    assert db.execute(
        "SELECT count(*) FROM idempotency_keys WHERE position(%s IN response_bytes) > 0",
        (first.secret.encode(),),
    ).fetchone() == (0,)


def test_a_retry_gets_the_same_key_without_its_secret(shop):
    account_id, _, merchant = shop
    request_id = str(uuid.uuid4())
    made = merchant.create_api_key(account_id, label="till 2", request_id=request_id)
    again = merchant.create_api_key(account_id, label="till 2", request_id=request_id)
    assert made.secret and again.secret == ""
    assert again.api_key == made.api_key
    with pytest.raises(errors.IdempotencyKeyReused):
        merchant.create_api_key(account_id, label="till 3", request_id=request_id)


def test_a_merchant_manages_its_own_keys(shop, client_for):
    account_id, first, merchant = shop
    second = merchant.create_api_key(account_id, label="shop backend")
    listed = merchant.list_api_keys(account_id)
    assert [k.api_key_id for k in listed] == [
        second.api_key.api_key_id,
        first.api_key.api_key_id,
    ]  # newest first
    assert [k.label for k in listed] == ["shop backend", "first"]
    assert all(not k.revoked and len(k.secret_last4) == 4 for k in listed)
    # The new key works; revoking the first one stops it at once (no cache here).
    client_for(second.secret).get_account(account_id)
    revoked = client_for(second.secret).revoke_api_key(first.api_key.api_key_id)
    assert revoked.revoked and revoked.HasField("revoke_time")
    with pytest.raises(errors.Unauthenticated):
        merchant.get_account(account_id)
    # Revoking again changes nothing; the list shows it revoked.
    assert client_for(second.secret).revoke_api_key(first.api_key.api_key_id) == revoked
    assert [k.revoked for k in client_for(second.secret).list_api_keys(account_id)] == [
        False,
        True,
    ]


def test_rotation_stops_the_old_key_at_once(shop, client_for):
    account_id, first, merchant = shop
    rotated = merchant.rotate_api_key(first.api_key.api_key_id)
    assert rotated.api_key.label == "first" and rotated.secret
    assert rotated.api_key.api_key_id != first.api_key.api_key_id
    assert rotated.rotated_api_key.revoked
    with pytest.raises(errors.Unauthenticated):
        merchant.get_account(account_id)
    new = client_for(rotated.secret)
    assert new.get_account(account_id).account_id == account_id
    with pytest.raises(errors.ApiKeyRevoked):
        new.rotate_api_key(first.api_key.api_key_id)


def test_rotation_with_a_grace_period_keeps_the_old_key_until_then(shop, client_for):
    account_id, first, merchant = shop
    rotated = merchant.rotate_api_key(first.api_key.api_key_id, grace_period_s=3600)
    old = rotated.rotated_api_key
    assert not old.revoked and old.HasField("revoke_time")
    assert (old.revoke_time.ToDatetime() - rotated.api_key.create_time.ToDatetime()).seconds in (
        3599,
        3600,
    )
    merchant.get_account(account_id)  # still works, during the grace period
    client_for(rotated.secret).get_account(account_id)
    # A key in its grace period is not rotated twice; it can be revoked now.
    with pytest.raises(errors.ApiKeyRevoked):
        client_for(rotated.secret).rotate_api_key(first.api_key.api_key_id)
    client_for(rotated.secret).revoke_api_key(first.api_key.api_key_id)
    with pytest.raises(errors.Unauthenticated):
        merchant.get_account(account_id)


def test_a_key_in_its_grace_period_cannot_manage_keys(shop, client_for, db):
    """Issue 13, finding 6: a rotated key kept working for its grace period could
    mint a new key, which outlived the revocation. It may still pay and read,
    never create, rotate or revoke keys."""
    account_id, first, merchant = shop
    rotated = merchant.rotate_api_key(first.api_key.api_key_id, grace_period_s=3600)
    count_keys = "SELECT count(*) FROM api_tokens WHERE merchant_account_id = %s"
    live_keys = db.execute(count_keys, (account_id,)).fetchone()
    with pytest.raises(errors.PermissionDenied, match="grace period"):
        merchant.create_api_key(account_id, label="outlives the rotation")
    with pytest.raises(errors.PermissionDenied, match="grace period"):
        merchant.rotate_api_key(rotated.api_key.api_key_id)
    with pytest.raises(errors.PermissionDenied, match="grace period"):
        merchant.revoke_api_key(rotated.api_key.api_key_id)
    with pytest.raises(errors.PermissionDenied, match="grace period"):
        merchant.list_api_keys(account_id)
    assert db.execute(count_keys, (account_id,)).fetchone() == live_keys
    merchant.get_account(account_id)  # the old key still works for everything else
    new = client_for(rotated.secret)
    assert new.create_api_key(account_id, label="made by the new key").secret


def test_a_merchant_key_never_reaches_another_merchants_keys(shop, open_account, admin, db):
    account_id, first, merchant = shop
    other_id = open_account("MERCHANT")
    other = admin.create_api_key(other_id, label="other")
    for call in (
        lambda: merchant.create_api_key(other_id),
        lambda: merchant.list_api_keys(other_id),
        lambda: merchant.rotate_api_key(other.api_key.api_key_id),
        lambda: merchant.revoke_api_key(other.api_key.api_key_id),
    ):
        with pytest.raises(errors.PermissionDenied):
            call()
    assert [k.revoked for k in admin.list_api_keys(other_id)] == [False]


def test_unknown_keys_and_other_roles_tokens_are_not_api_keys(shop, make_token, database_url):
    _, _, merchant = shop
    with psycopg.connect(database_url, autocommit=True) as conn:
        wallet_token_id, _ = api_tokens.create_token(conn, "wallet")
    for key_id in (str(uuid.uuid4()), wallet_token_id):
        with pytest.raises(errors.ApiKeyNotFound) as missing:
            merchant.revoke_api_key(key_id)
        assert missing.value.metadata == {"api_key_id": key_id}


def test_bad_requests_are_refused(shop, admin, open_account):
    account_id, first, merchant = shop
    with pytest.raises(errors.InvalidArgument) as refused:
        merchant.rotate_api_key(first.api_key.api_key_id, grace_period_s=86_401)
    assert set(refused.value.field_violations) == {"grace_period_s"}
    with pytest.raises(errors.InvalidArgument) as refused:
        merchant.create_api_key(account_id, label="x" * 65)
    assert set(refused.value.field_violations) == {"label"}
    with pytest.raises(errors.InvalidArgument) as refused:  # keys are for merchants
        admin.create_api_key(open_account())
    assert set(refused.value.field_violations) == {"account_id"}


def test_a_merchant_has_at_most_so_many_live_keys(shop):
    account_id, _, merchant = shop
    for _ in range(api_keys.MAX_LIVE_KEYS - 1):
        merchant.create_api_key(account_id)
    with pytest.raises(errors.LimitExceeded) as capped:
        merchant.create_api_key(account_id)
    assert capped.value.metadata == {"limit": "API_KEYS", "max_keys": str(api_keys.MAX_LIVE_KEYS)}


def test_secrets_stay_out_of_the_logs(caplog, shop):
    caplog.set_level(logging.DEBUG)
    account_id, first, merchant = shop
    made = merchant.create_api_key(account_id, label="logged?")
    rotated = merchant.rotate_api_key(made.api_key.api_key_id)
    assert caplog.records, "nothing was logged: the check would prove nothing"
    for secret in (first.secret, made.secret, rotated.secret):
        assert secret not in caplog.text
