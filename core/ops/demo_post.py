"""`envoi demo post --as alice TEXT`: post on the running demo's X API
emulator (through its page's JSON twin) and print the bot's replies."""

import json
import pathlib
import time
import urllib.error
import urllib.parse
import urllib.request

HTTP_TIMEOUT_S = 30.0  # the emulator delivers the post to the gateway before it answers
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(directory: pathlib.Path, author: str, text: str, wait_s: float) -> None:
    try:
        state = json.loads((directory / "state.json").read_text())
    except (OSError, ValueError):
        raise SystemExit(
            f"envoi demo post: no demo running ({directory}/state.json): start `envoi demo`"
        ) from None
    status, posted = _request(
        f"{state['x_api_url']}/emulator/post",
        data=urllib.parse.urlencode({"as": author, "text": text}).encode(),
    )
    if status != 201:
        raise SystemExit(f"envoi demo post: {posted.get('error', status)}")
    print(f"@{author.lstrip('@')}: {posted['text']}", flush=True)
    bot = state["bot"]["username"]
    answers = _wait_for_answers(state["x_api_url"], posted["id"], wait_s)
    if not answers["data"] and not answers["dms"]:
        raise SystemExit(
            f"envoi demo post: no answer from @{bot} within {wait_s:g} s"
            f" (see {directory}/logs/serve.log)"
        )
    for reply in answers["data"]:
        print(f"@{bot} replied: {reply['text']}", flush=True)
    for dm in answers["dms"]:
        print(f"@{bot} wrote privately: {dm['text']}", flush=True)


def _wait_for_answers(x_api_url: str, post_id: str, wait_s: float) -> dict:
    """The bot's replies and private messages to the author, once there is one."""
    deadline = time.monotonic() + wait_s
    while True:
        status, answers = _request(f"{x_api_url}/emulator/posts/{post_id}/replies")
        if status != 200:
            raise SystemExit(f"envoi demo post: the emulator answered {status}: {answers}")
        if answers["data"] or answers["dms"] or time.monotonic() > deadline:
            return answers
        time.sleep(0.2)


def _request(url: str, data: bytes | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=data, headers={"Accept": "application/json"})
    try:
        with _NO_PROXY.open(request, timeout=HTTP_TIMEOUT_S) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        try:
            return error.code, json.loads(error.read())
        except ValueError:
            return error.code, {}
    except urllib.error.URLError as error:
        raise SystemExit(f"envoi demo post: the demo's emulator does not answer: {error}") from None
