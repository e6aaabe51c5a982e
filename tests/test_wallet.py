"""The wallet over real HTTP (httpx against uvicorn), without a browser: sign in
with X through the emulator's OAuth 2.0 PKCE endpoints, and the security rules
(CSRF, cookies, bounded requests, only one's own payments, the code checked by
envoi)."""

import base64
import hashlib
import json
import re
import urllib.parse
import uuid

import httpx
import pytest
from envoi_channel_messenger.account_linking import REDIRECT_PATH
from envoi_channel_messenger.send_api_emulator import SendApiEmulator

from envoi.channels.twitter import messages
from envoi.client import EnvoiClient
from envoi.core.ops.harness import free_port
from envoi.v1 import account_pb2, event_pb2, identity_pb2, transfer_pb2
from envoi.wallet import metrics
from envoi.wallet.settings import Settings, SettingsError
from envoi.wallet.testing import serving

SECRET = "test-secret-" + "s" * 32


def wallet_settings(x, **overrides) -> Settings:
    port = free_port()
    values = dict(
        token="unused: the client is given",
        listen=f"127.0.0.1:{port}",
        public_url=f"http://127.0.0.1:{port}",
        secret=SECRET,
        x_api_url=x.base_url,
        x_authorize_url=f"{x.base_url}/2/oauth2/authorize",
        x_client_id=x.oauth2.client_id,
        x_client_secret=x.oauth2.client_secret,
        metrics_listen="",
    )
    return Settings(**{**values, **overrides})


@pytest.fixture(scope="module")
def wallet_url(x, client_for, make_token):
    settings = wallet_settings(x)
    with serving(settings, client_for(make_token("wallet"))):
        yield settings.public_url


def hidden_fields(page: str) -> dict:
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))


def sign_in(http: httpx.Client, x, username: str, next_path: str = "/") -> httpx.Response:
    """Through the emulator's authorize page, as a browser would; the callback's answer."""
    start = http.get("/signin/x", params={"next": next_path})
    assert start.status_code == 303
    authorize = httpx.get(start.headers["location"])
    assert authorize.status_code == 200
    fields = hidden_fields(authorize.text)
    back = httpx.post(f"{x.base_url}/2/oauth2/authorize", data={**fields, "username": username})
    assert back.status_code == 302
    return http.get(back.headers["location"])


def csrf(page: str) -> str:
    return hidden_fields(page)["csrf_token"]


@pytest.fixture
def signed_in(x, open_account, wallet):
    """(X user, account id, a wallet HTTP client signed in as them)."""

    def make(wallet_url, balance_cents=5_000):
        user = x.add_user(f"p{uuid.uuid4().hex[:12]}")
        account_id = open_account(balance_cents=balance_cents)
        wallet.link_identity(
            account_id,
            identity_pb2.Identity(
                namespace="twitter", subject_id=user["id"], handle=user["username"]
            ),
        )
        http = httpx.Client(base_url=wallet_url)
        assert sign_in(http, x, user["username"]).status_code == 303
        return user, account_id, http

    return make


# -- the emulator's OAuth 2.0 endpoints ---------------------------------------------


def pkce_code(x, username, verifier="v" * 50, redirect_uri="http://127.0.0.1:9/cb"):
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    answer = httpx.post(
        f"{x.base_url}/2/oauth2/authorize",
        data={
            "response_type": "code",
            "client_id": x.oauth2.client_id,
            "redirect_uri": redirect_uri,
            "state": "s1",
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "username": username,
        },
    )
    assert answer.status_code == 302
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(answer.headers["location"]).query))
    assert query["state"] == "s1"
    return query["code"]


def token_request(x, code, verifier="v" * 50, secret=None, redirect_uri="http://127.0.0.1:9/cb"):
    return httpx.post(
        f"{x.base_url}/2/oauth2/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": verifier,
        },
        auth=(x.oauth2.client_id, secret or x.oauth2.client_secret),
    )


def test_the_emulator_trades_a_code_with_its_verifier_for_a_token_once(x):
    carol = x.add_user("carol")
    code = pkce_code(x, "carol")
    answer = token_request(x, code)
    assert answer.status_code == 200 and answer.json()["token_type"] == "bearer"
    me = httpx.get(
        f"{x.base_url}/2/users/me",
        headers={"Authorization": f"Bearer {answer.json()['access_token']}"},
    )
    assert me.json()["data"] == {"id": carol["id"], "name": "carol", "username": "carol"}
    assert token_request(x, code).json()["error"] == "invalid_request"  # used once only


@pytest.mark.parametrize(
    "change",
    [{"verifier": "w" * 50}, {"secret": "not-the-secret"}, {"redirect_uri": "http://evil/cb"}],
)
def test_the_emulator_refuses_a_code_with_the_wrong_verifier_client_or_redirect(x, bot, change):
    code = pkce_code(x, bot["username"])
    answer = token_request(x, code, **change)
    assert answer.status_code in (400, 401) and "access_token" not in answer.json()


def test_the_emulator_s_authorize_page_refuses_a_request_without_pkce(x):
    answer = httpx.get(
        f"{x.base_url}/2/oauth2/authorize",
        params={"response_type": "code", "client_id": x.oauth2.client_id, "state": "s"}
        | {"redirect_uri": "http://127.0.0.1:9/cb"},
    )
    assert answer.status_code == 400 and "code_challenge" in answer.text


# -- the wallet -------------------------------------------------------------------------


def test_the_session_cookie_is_signed_httponly_lax_and_secure_over_https(x, wallet):
    settings = wallet_settings(x, public_url="https://wallet.example")
    with serving(settings, wallet):
        answer = httpx.get(f"http://{settings.listen}/signin/x")
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert "default-src 'self'" in answer.headers["content-security-policy"]


def test_a_new_person_chooses_a_code_and_gets_an_account_linked_to_their_x_id(
    x, wallet_url, wallet
):
    dora = x.add_user("dora")
    http = httpx.Client(base_url=wallet_url)
    assert sign_in(http, x, "dora").headers["location"] == "/welcome"
    page = http.get("/welcome").text
    refused = http.post("/welcome", data={"csrf_token": csrf(page), "code": "12345"})
    assert refused.status_code == 400
    differ = {"csrf_token": csrf(page), "code": "135790", "code_again": "135791"}
    assert http.post("/welcome", data=differ).status_code == 400
    opened = http.post("/welcome", data={**differ, "code_again": "135790"})
    assert opened.status_code == 303
    found = wallet.resolve_identity(
        identity_pb2.Identity(namespace="twitter", subject_id=dora["id"])
    )
    assert found.display_name == "@dora"
    assert "0,00\xa0€" in http.get("/").text


def test_a_wrong_code_is_refused_by_envoi_and_the_payment_still_waits(
    wallet_url, signed_in, open_account, wallet
):
    _, account_id, http = signed_in(wallet_url)
    pending = wallet.initiate_transfer(account_id, open_account(), 700)
    page = http.get(f"/confirm/{pending.transfer_id}")
    assert "7,00\xa0€" in page.text
    wrong = http.post(
        f"/confirm/{pending.transfer_id}",
        data={"csrf_token": csrf(page.text), "code": "000000", "action": "confirm"},
    )
    assert wrong.status_code == 400 and "Code incorrect" in wrong.text
    assert "000000" not in wrong.text
    transfer = wallet.get_transfer(pending.transfer_id)
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION


def test_a_form_without_the_session_s_csrf_token_changes_nothing(
    wallet_url, signed_in, open_account, wallet
):
    _, account_id, http = signed_in(wallet_url)
    pending = wallet.initiate_transfer(account_id, open_account(), 700)
    for token in ("", "forged"):
        answer = http.post(
            f"/confirm/{pending.transfer_id}",
            data={"csrf_token": token, "code": "123456", "action": "confirm"},
        )
        assert answer.status_code == 403
    transfer = wallet.get_transfer(pending.transfer_id)
    assert transfer.state == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION


def test_someone_else_s_payment_is_not_found(wallet_url, signed_in, open_account, wallet):
    _, _, http = signed_in(wallet_url)
    theirs = wallet.initiate_transfer(open_account(balance_cents=1_000), open_account(), 100)
    assert http.get(f"/confirm/{theirs.transfer_id}").status_code == 404
    assert http.get("/confirm/not-an-id").status_code == 404


def test_the_confirmation_link_signs_in_first_then_lands_on_the_payment(
    x, wallet_url, open_account, wallet
):
    erin = x.add_user("erin")
    account_id = open_account(balance_cents=1_000)
    wallet.link_identity(
        account_id, identity_pb2.Identity(namespace="twitter", subject_id=erin["id"])
    )
    pending = wallet.initiate_transfer(account_id, open_account(), 250)
    http = httpx.Client(base_url=wallet_url)
    first = http.get(f"/confirm/{pending.transfer_id}")
    assert first.headers["location"] == f"/signin/x?next=/confirm/{pending.transfer_id}"
    assert sign_in(http, x, "erin", first.headers["location"].partition("next=")[2]).headers[
        "location"
    ] == (f"/confirm/{pending.transfer_id}")


def test_a_next_path_elsewhere_is_ignored(x, wallet_url, signed_in):
    user, _, http = signed_in(wallet_url)
    assert sign_in(http, x, user["username"], "//evil.example/").headers["location"] == "/"


def test_a_request_too_large_gets_413(wallet_url):
    answer = httpx.post(f"{wallet_url}/welcome", content=b"a" * 100_000)
    assert answer.status_code == 413


def test_english_shows_money_the_english_way(wallet_url, signed_in):
    _, _, http = signed_in(wallet_url, balance_cents=1_050)
    page = http.get("/").text
    assert "10,50\xa0€" in page
    switched = http.post("/language", data={"csrf_token": csrf(page), "lang": "en", "back": "/"})
    assert switched.status_code == 303
    assert "€10.50" in http.get("/").text


def test_history_comes_in_pages(wallet_url, signed_in, open_account, wallet):
    _, account_id, http = signed_in(wallet_url)
    payee = open_account()
    for _ in range(11):
        wallet.cancel_transfer(wallet.initiate_transfer(account_id, payee, 100).transfer_id)
    first = http.get("/").text
    token = re.search(r'href="/\?page=([^"]+)"', first)
    assert token, "a link to the older page"
    older = http.get("/?page=" + urllib.parse.unquote(token.group(1)))
    assert older.status_code == 200 and "Retour aux plus récentes" in older.text


def test_the_reply_to_a_payment_to_confirm_links_to_the_wallet_only_when_configured():
    transfer = transfer_pb2.Transfer(
        transfer_id="0b9cf2a6-31a5-4bb5-a9a3-4a2c3f8d6e11",
        channel_reference="post:1",
        from_identity=identity_pb2.Identity(namespace="twitter", subject_id="7", handle="al"),
    )
    event = event_pb2.Event(
        event_id="e1", type=event_pb2.EVENT_TYPE_CONFIRMATION_REQUIRED, transfer=transfer
    )
    [plain] = messages.for_event(event)
    [linked] = messages.for_event(event, "https://wallet.example/")
    assert "https://" not in plain.text
    assert linked.text == plain.text + " https://wallet.example/confirm/" + transfer.transfer_id


def test_the_settings_need_a_token_and_a_long_secret():
    with pytest.raises(SettingsError, match="ENVOI_WALLET_TOKEN"):
        Settings.from_env({"ENVOI_WALLET_SECRET": SECRET})
    with pytest.raises(SettingsError, match="ENVOI_WALLET_SECRET"):
        Settings.from_env({"ENVOI_WALLET_TOKEN": "t", "ENVOI_WALLET_SECRET": "short"})
    settings = Settings.from_env({"ENVOI_WALLET_TOKEN": "t", "ENVOI_WALLET_SECRET": SECRET})
    assert (settings.public_url, settings.secure_cookies) == ("http://localhost:8000", False)
    assert SECRET not in repr(settings) and "token=" not in repr(settings)


# -- money in and out, settings, collections, requests, escrow -------------------------


def submit(http: httpx.Client, path: str, **fields) -> httpx.Response:
    """Fill the form at path as the page gives it (CSRF token, request id) and send it."""
    page = http.get(path)
    assert page.status_code == 200, page.text
    return http.post(path, data={**hidden_fields(page.text), **fields})


def test_a_top_up_by_the_sandbox_s_test_card_credits_and_a_declined_card_does_not(
    wallet_url, signed_in, wallet
):
    _, account_id, http = signed_in(wallet_url, balance_cents=0)
    assert submit(http, "/top-up", amount="12,50", card="succeeds").status_code == 303
    assert "12,50\xa0€ ajoutés" in http.get("/").text
    declined = submit(http, "/top-up", amount="5", card="declined")
    assert declined.status_code == 402 and "refusée" in declined.text
    assert submit(http, "/top-up", amount="1.5e3", card="succeeds").status_code == 400
    assert wallet.get_balance(account_id).balance.amount_cents == 1_250


def test_a_withdrawal_needs_the_code_and_holds_the_amount(wallet_url, signed_in, wallet):
    _, account_id, http = signed_in(wallet_url, balance_cents=5_000)
    fields = dict(amount="20", iban="DE89 3704 0044 0532 0130 00", beneficiary_name="Al Martin")
    assert submit(http, "/withdraw", code="000000", **fields).status_code == 400
    assert submit(http, "/withdraw", code="123456", **fields).status_code == 303
    assert wallet.get_balance(account_id).available.amount_cents == 3_000


def test_the_code_changes_only_with_the_old_one(wallet_url, signed_in, open_account, wallet):
    _, account_id, http = signed_in(wallet_url)
    wrong = submit(http, "/code", current_code="999999", new_code="111111", new_code_again="111111")
    assert wrong.status_code == 400 and "Code incorrect" in wrong.text
    changed = submit(
        http, "/code", current_code="123456", new_code="111111", new_code_again="111111"
    )
    assert changed.status_code == 303
    pending = wallet.initiate_transfer(account_id, open_account(), 100)
    assert wallet.confirm_transfer(pending.transfer_id, "111111").state == (
        transfer_pb2.TRANSFER_STATE_COMPLETED
    )


def test_the_notification_preference_is_saved(wallet_url, signed_in, wallet):
    _, account_id, http = signed_in(wallet_url)
    assert submit(http, "/notifications", preference="APP_ONLY").status_code == 303
    assert wallet.get_account(account_id).notification_preference == (
        account_pb2.NOTIFICATION_PREFERENCE_APP_ONLY
    )
    assert submit(http, "/notifications", preference="LOUD").status_code == 400


def test_a_gift_to_a_collection_is_confirmed_with_the_code(
    wallet_url, signed_in, open_account, wallet
):
    _, _, http = signed_in(wallet_url)
    tag = f"Drive{uuid.uuid4().hex[:12]}"
    drive = wallet.create_collection(open_account(kind="ASSOCIATION"), "Drive", f"#{tag}")
    started = submit(http, "/give", hashtag=f"#{tag}", amount="3")
    assert started.status_code == 303 and started.headers["location"].startswith("/confirm/")
    assert submit(http, started.headers["location"], code="123456").status_code == 303
    assert wallet.get_collection(drive.collection_id).collected.amount_cents == 300
    assert submit(http, "/give", hashtag="#NoSuchDrive", amount="3").status_code == 404


def test_a_request_shows_as_one_and_can_be_declined(wallet_url, signed_in, open_account, wallet):
    _, account_id, http = signed_in(wallet_url)
    asked = wallet.request_money(open_account(), account_id, 400)
    assert "vous demande 4,00\xa0€" in http.get("/").text
    assert submit(http, f"/confirm/{asked.transfer_id}", action="decline").status_code == 303
    assert wallet.get_transfer(asked.transfer_id).state == transfer_pb2.TRANSFER_STATE_CANCELLED


def test_money_waiting_in_escrow_is_credited_when_the_person_opens_their_account(
    x, wallet_url, open_account, wallet
):
    fred = x.add_user("fred")
    identity = identity_pb2.Identity(namespace="twitter", subject_id=fred["id"], handle="fred")
    sent = wallet.initiate_transfer(open_account(balance_cents=1_000), identity, 600)
    wallet.confirm_transfer(sent.transfer_id, "123456")
    http = httpx.Client(base_url=wallet_url)
    assert sign_in(http, x, "fred").headers["location"] == "/welcome"
    assert submit(http, "/welcome", code="135790", code_again="135790").status_code == 303
    home = http.get("/").text
    assert "1 paiement(s) qui vous attendaient" in home and "6,00\xa0€" in home


def test_an_unreachable_envoi_gets_a_page_saying_to_try_again(x):
    dead = EnvoiClient(f"127.0.0.1:{free_port()}", token="t", timeout_s=1, max_attempts=1)
    x.add_user("gus")
    settings = wallet_settings(x)
    with serving(settings, dead), httpx.Client(base_url=settings.public_url) as http:
        answer = sign_in(http, x, "gus")
    assert answer.status_code == 503 and "indisponible" in answer.text


def live_updates(http: httpx.Client, path: str, headers=None):
    """The (id, data) of each update of the live feed at path, as they come."""
    with http.stream("GET", path, headers=headers or {}, timeout=30) as stream:
        event_id = None
        for line in stream.iter_lines():
            if line.startswith("id: "):
                event_id = line[4:]
            elif line.startswith("data: "):
                yield event_id, json.loads(line[6:])


def test_the_live_feed_brings_what_happens_after_the_page_and_resumes_after_the_last(
    wallet_url, signed_in, open_account, wallet
):
    _, account_id, http = signed_in(wallet_url)
    source = re.search(r'data-source="([^"]+)"', http.get("/").text).group(1)
    payer = open_account(balance_cents=1_000)
    for cents in (200, 100):
        wallet.confirm_transfer(
            wallet.initiate_transfer(payer, account_id, cents).transfer_id, "123456"
        )
    rows, updates = [], live_updates(http, source)
    for event_id, update in updates:
        if "row" in update:  # the payer's pending payment brings no row
            rows.append((event_id, update["row"]["amount"], update["balance"]["balance"]))
        if len(rows) == 2:
            break
    updates.close()
    # Each update carries the balance as it is when it is sent.
    assert [row[1:] for row in rows] == [("+2,00\xa0€", "53,00\xa0€"), ("+1,00\xa0€", "53,00\xa0€")]
    resumed = live_updates(http, "/events", headers={"Last-Event-ID": rows[0][0]})
    assert next(u for _, u in resumed if "row" in u)["row"]["amount"] == "+1,00\xa0€"
    resumed.close()


def test_the_wallet_exports_its_metrics_for_prometheus(wallet_url):
    port = free_port()
    metrics.serve(f"127.0.0.1:{port}")
    assert httpx.get(f"{wallet_url}/").status_code == 200
    exported = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert 'envoi_wallet_http_request_duration_seconds_count{route="/",status="200"}' in exported
    assert "envoi_wallet_live_streams" in exported


def test_x_unreachable_after_its_authorize_page_fails_the_sign_in_cleanly(x, wallet):
    x.add_user("hal")
    settings = wallet_settings(x, x_api_url=f"http://127.0.0.1:{free_port()}")
    with serving(settings, wallet), httpx.Client(base_url=settings.public_url) as http:
        answer = sign_in(http, x, "hal")
        assert answer.status_code == 400 and "La connexion avec X a échoué" in answer.text
        assert (
            "account_id" not in http.get("/").text and "Se connecter avec X" in http.get("/").text
        )


# -- signing in from Messenger (account linking) ---------------------------------------


@pytest.fixture(scope="module")
def meta():
    with SendApiEmulator(page_id="1001") as emulator:
        yield emulator


@pytest.fixture(scope="module")
def messenger_wallet_url(x, meta, wallet):
    settings = wallet_settings(
        x,
        messenger_page_token=meta.page_access_token,
        messenger_api_url=meta.base_url,
        messenger_linking_url=meta.base_url + REDIRECT_PATH,
    )
    with serving(settings, wallet):
        yield settings.public_url


def test_a_person_signs_in_from_messenger_and_messenger_is_told_it_is_linked(
    meta, messenger_wallet_url, wallet
):
    psid = str(uuid.uuid4().int % 10**15)
    http = httpx.Client(base_url=messenger_wallet_url)
    opened = http.get(meta.linking.url(psid, f"{messenger_wallet_url}/signin/messenger"))
    assert opened.headers["location"] == "/welcome"
    back = submit(http, "/welcome", code="135790", code_again="135790")
    assert back.headers["location"].startswith(meta.base_url + REDIRECT_PATH)
    assert httpx.get(back.headers["location"]).json() == {"linked": True}
    assert meta.linking.linked[psid] in back.headers["location"]
    found = wallet.resolve_identity(identity_pb2.Identity(namespace="messenger", subject_id=psid))
    assert found.display_name == f"Messenger {psid[-4:]}"
    assert "Connecté en tant que Messenger" in http.get("/").text


def test_an_account_linking_token_works_once_and_only_messenger_is_returned_to(
    meta, messenger_wallet_url, open_account, wallet
):
    psid = str(uuid.uuid4().int % 10**15)
    wallet.link_identity(
        open_account(), identity_pb2.Identity(namespace="messenger", subject_id=psid)
    )
    url = meta.linking.url(psid, f"{messenger_wallet_url}/signin/messenger")
    token = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["account_linking_token"]
    elsewhere = f"{messenger_wallet_url}/signin/messenger?" + urllib.parse.urlencode(
        {"account_linking_token": token, "redirect_uri": "https://evil.example/"}
    )
    http = httpx.Client(base_url=messenger_wallet_url)
    assert http.get(elsewhere).headers["location"] == "/"  # signed in, not sent away
    assert http.get(url).status_code == 400  # the token was used
