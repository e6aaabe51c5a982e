"""From a Mastodon notification to the InboundPost the gateway takes in.

A status's content is HTML, and a mention in it shows only the username
(`@bob`, even for bob@example.social): the text handed to the grammar writes
each mention link as the account's `acct` instead (`@bob` on the bot's own
server, `@bob@example.social` on another), found by the link's href among the
status's resolved mentions. Entities are decoded once, here: the grammar is
told the text is plain (FEDIVERSE_MENTIONS).

Identity convention (for wallets): a person's subject_id is their full
address, `username@server`, in lower case, even on the bot's own server.
"""

import html.parser

from envoi.channels.channel import InboundPost, Person

MAX_CONTENT_CHARS = 100_000  # Mastodon's default limit is 500 characters; HTML lengthens it


def full_acct(account: dict, local_domain: str) -> str:
    """username@server of an account, in lower case."""
    acct = account["acct"]
    return (acct if "@" in acct else f"{acct}@{local_domain}").lower()


def post_of(notification: dict, local_domain: str) -> InboundPost | None:
    """The post a notification carries, or None when it is no mention of the bot."""
    status = notification.get("status")
    if notification.get("type") not in ("mention", "reblog") or not isinstance(status, dict):
        return None
    mentions = status.get("mentions") or []
    by_url = {m["url"]: m["acct"] for m in mentions}
    people = []
    for mention in mentions:
        subject_id = full_acct(mention, local_domain)
        # Each form the text may use: `bob` and `bob@server` for a local account.
        for handle in {mention["acct"], subject_id}:
            people.append(Person(subject_id, handle))
    author = status["account"]
    return InboundPost(
        post_id=status["id"],
        author=Person(full_acct(author, local_domain), author["acct"]),
        text=text_of(status.get("content") or "", by_url),
        mentions=tuple(people),
        direct_message=status.get("visibility") == "direct",
        is_retweet=notification["type"] == "reblog" or status.get("reblog") is not None,
        is_quote=status.get("quote") is not None,
    )


def text_of(content: str, acct_by_url: dict[str, str]) -> str:
    """Plain text of a status's HTML: paragraphs and <br> as new lines, each
    mention link as `@acct`, entities decoded once."""
    if len(content) > MAX_CONTENT_CHARS:
        return content  # the grammar rejects it as TEXT_TOO_LONG
    reader = _Reader(acct_by_url)
    reader.feed(content)
    reader.close()
    return "".join(reader.parts).strip()


class _Reader(html.parser.HTMLParser):
    def __init__(self, acct_by_url: dict[str, str]):
        super().__init__(convert_charrefs=True)
        self.acct_by_url = acct_by_url
        self.parts: list[str] = []
        self._in_mention = 0  # depth inside a mention link whose text is replaced

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if self._in_mention:
            self._in_mention += tag == "a"
        elif tag == "a" and attributes.get("href") in self.acct_by_url:
            self.parts.append(f"@{self.acct_by_url[attributes['href']]}")
            self._in_mention = 1
        elif tag == "br":
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if self._in_mention:
            self._in_mention -= tag == "a"
        elif tag == "p":
            self.parts.append("\n\n")

    def handle_data(self, data):
        if not self._in_mention:
            self.parts.append(data)
