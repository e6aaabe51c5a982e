"""A page of the X API emulator to post as someone, and its JSON twin for scripts.

    GET  /                                 the form and the latest posts with their replies
    POST /emulator/post                    as=USERNAME&text=TEXT (a form); 303 back to /,
                                           or 201 and the post as JSON with Accept: application/json
    GET  /emulator/posts/ID/replies        the replies to a post, and the bot's private
                                           messages to its author since, as JSON

A local test tool, served beside the emulated API: sizes are bounded and
everything shown is escaped all the same. A post that mentions the bot is
delivered, signed, to the webhook given (as X's Account Activity API does).
"""

import html
import json
import logging
import urllib.parse
from typing import Callable

from envoi.channels.twitter.x_api_emulator import XApiEmulator

log = logging.getLogger(__name__)

MAX_FORM_BYTES = 4096
MAX_POST_CHARS = 280  # X's limit
SHOWN_POSTS = 20
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}
_STYLE = (
    "body{font-family:sans-serif;max-width:40rem;margin:1rem auto;padding:0 1rem}"
    "li{margin:.5rem 0}blockquote{margin:.2rem 1rem;color:#333}"
    "textarea{width:100%}label{display:block;margin:.5rem 0}"
)


class PostingPage:
    """The routes above, added to ``x``; ``webhook_url``: where posts mentioning ``bot`` go."""

    def __init__(self, x: XApiEmulator, bot: dict, webhook_url: str = ""):
        self.x, self.bot, self.webhook_url = x, bot, webhook_url
        self.usernames: list[str] = []
        self._authors: dict[str, str] = {}  # post id -> author id, of the posts made here
        x.add_route("GET", "/", self._page)
        x.add_route("POST", "/emulator/post", self._post)
        x.add_route("GET", r"/emulator/posts/(?P<post_id>[0-9]{1,20})/replies", self._replies)

    def add_user(self, username: str) -> dict:
        """A new emulated user one can post as from the page."""
        user = self.x.add_user(username)
        self.usernames.append(user["username"])
        return user

    def post(self, username: str, text: str) -> dict:
        """Post as ``username`` (ValueError when unknown or the text is empty or too
        long) and deliver the post to the webhook when it mentions the bot."""
        if username.lstrip("@").lower() not in {u.lower() for u in self.usernames}:
            raise ValueError(f"no such user here: {username!r}; known: {', '.join(self.usernames)}")
        if not text.strip() or len(text) > MAX_POST_CHARS:
            raise ValueError(f"a post has 1 to {MAX_POST_CHARS} characters")
        post = self.x.post(username.lstrip("@"), text)
        self._authors[post["id"]] = post["author_id"]
        mentioned = {m["id"] for m in post.get("entities", {}).get("mentions", [])}
        if self.webhook_url and self.bot["id"] in mentioned:
            payload = self.x.account_activity_payload(post, for_user=self.bot)
            status, _ = self.x.deliver_webhook(self.webhook_url, payload, self.x.consumer_secret)
            log.info("webhook delivery of post %s: HTTP %s", post["id"], status)
        return post

    # -- routes -------------------------------------------------------------------

    def _page(self, match, query, headers, body) -> tuple:
        return _html(200, self._render(query.get("error", "")[:200]))

    def _post(self, match, query, headers, body) -> tuple:
        wants_json = "application/json" in headers.get("Accept", "")
        if len(body) > MAX_FORM_BYTES:
            return _answer(wants_json, 413, "the form is too large")
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        try:
            post = self.post(form.get("as", ""), form.get("text", ""))
        except (ValueError, KeyError) as error:
            return _answer(wants_json, 400, str(error))
        if wants_json:
            return _json(201, post)
        return 303, "text/plain; charset=utf-8", b"", {"Location": "/", **_HEADERS}

    def _replies(self, match, query, headers, body) -> tuple:
        """The bot's public replies, and its private messages to the author since."""
        post_id = match["post_id"]
        author_id = self._authors.get(post_id)
        if author_id is None:
            return _json(404, {"error": "no such post made on this page"})
        dms = [
            dm
            for dm in self.x.dms_to(author_id)
            if dm["sender_id"] == self.bot["id"] and int(dm["id"]) > int(post_id)
        ]
        return _json(200, {"data": self.x.replies_to(post_id), "dms": dms})

    def _render(self, error: str) -> bytes:
        e: Callable[[str], str] = html.escape
        options = "".join(f"<option>{e(name)}</option>" for name in self.usernames)
        posts = sorted(
            (p for name in self.usernames + [self.bot["username"]] for p in self.x.posts_by(name)),
            key=lambda p: int(p["id"]),
            reverse=True,
        )[:SHOWN_POSTS]
        authors = {u: self.x.user(u)["username"] for u in {p["author_id"] for p in posts}}
        items = "".join(
            f"<li><b>@{e(authors[p['author_id']])}</b>: {e(p['text'])}</li>" for p in posts
        )
        alert = f'<p role="alert">{e(error)}</p>' if error else ""
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            f"<title>X API emulator</title><style>{_STYLE}</style></head><body>"
            f"<h1>X API emulator</h1>{alert}"
            '<form method="post" action="/emulator/post">'
            f'<label>Post as <select name="as">{options}</select></label>'
            f'<label>Text <textarea name="text" maxlength="{MAX_POST_CHARS}" required>'
            f"@{e(self.bot['username'])} #envoyer 10€ @bob</textarea></label>"
            '<button type="submit">Post</button></form>'
            f"<h2>Latest posts (reload to see replies)</h2><ul>{items}</ul></body></html>"
        ).encode()


def _html(status: int, page: bytes) -> tuple:
    return status, "text/html; charset=utf-8", page, _HEADERS


def _json(status: int, document) -> tuple:
    return status, "application/json; charset=utf-8", json.dumps(document).encode(), _HEADERS


def _answer(wants_json: bool, status: int, message: str) -> tuple:
    if wants_json:
        return _json(status, {"error": message})
    location = "/?" + urllib.parse.urlencode({"error": message})
    return 303, "text/plain; charset=utf-8", b"", {"Location": location, **_HEADERS}
