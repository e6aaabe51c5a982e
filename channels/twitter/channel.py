"""The Twitter/X channel: Account Activity webhooks and mention polling in,
replies and private messages out, all through tweepy."""

import json
import time

import tweepy

from envoi.channels.channel import (
    Channel,
    InboundPost,
    OutboundMessage,
    Person,
    RateLimited,
    WebhookRequest,
    WebhookResponse,
    WebhookRoute,
)
from envoi.channels.grammar import Grammar
from envoi.channels.twitter import account_activity, messages
from envoi.channels.twitter.config import TwitterConfig
from envoi.channels.twitter.x_api_session import make_client

WEBHOOK_PATH = "/twitter/webhook"
MAX_POLL_PAGES = 10


class TwitterChannel(Channel):
    name = "twitter"

    def __init__(self, config: TwitterConfig):
        self.config = config
        self.grammar = Grammar(bot_handle=config.bot_handle, keywords=config.keywords)
        self.poll_interval_s = config.poll_interval_s
        # Posting as the bot needs user context: OAuth 1.0a when configured.
        self.user_auth = bool(config.access_token)
        self.api = make_client(
            config.api_base_url,
            bearer_token=config.bearer_token or None,
            consumer_key=config.consumer_key or None,
            consumer_secret=config.consumer_secret or None,
            access_token=config.access_token or None,
            access_token_secret=config.access_token_secret or None,
        )

    # In: webhooks

    def webhook_routes(self) -> list[WebhookRoute]:
        if not self.config.consumer_secret:
            return []
        return [
            WebhookRoute("GET", WEBHOOK_PATH, self._crc),
            WebhookRoute("POST", WEBHOOK_PATH, self._delivery),
        ]

    def _crc(self, request: WebhookRequest) -> WebhookResponse:
        crc_token = request.query.get("crc_token", "")
        if not account_activity.is_crc_token(crc_token):  # sign nothing a caller chose
            return WebhookResponse(400, b'{"error": "crc_token is not one X sends"}')
        token = account_activity.signed(crc_token.encode(), self.config.consumer_secret)
        return WebhookResponse(200, json.dumps({"response_token": token}).encode())

    def _delivery(self, request: WebhookRequest) -> WebhookResponse:
        if not account_activity.signature_is_valid(
            request.body,
            request.headers.get(account_activity.SIGNATURE_HEADER),
            self.config.consumer_secret,
        ):
            return WebhookResponse(401, b'{"error": "bad signature"}')
        try:
            posts = account_activity.posts_in(request.body, self.config.bot_user_id)
        except (ValueError, KeyError, TypeError, AttributeError):
            return WebhookResponse(400, b'{"error": "not an Account Activity payload"}')
        return WebhookResponse(200, b"{}", posts=tuple(posts))

    # In: polling

    def poll(self, cursor: str | None) -> tuple[list[InboundPost], str | None] | None:
        if self.poll_interval_s <= 0 or not self.config.bot_user_id:
            return None
        posts, newest_id, page_token = [], cursor, None
        for _ in range(MAX_POLL_PAGES):
            page = self.api.get_users_mentions(
                self.config.bot_user_id,
                since_id=cursor,
                pagination_token=page_token,
                max_results=100,
                expansions=["author_id"],
                user_fields=["username"],
                tweet_fields=["author_id", "entities", "referenced_tweets"],
                user_auth=self.user_auth,
            )
            users = {user.id: user.username for user in (page.includes or {}).get("users", [])}
            for tweet in page.data or []:
                posts.append(self._post_from_v2(tweet, users))
            meta = page.meta or {}
            if newest_id is None or ("newest_id" in meta and page_token is None):
                newest_id = meta.get("newest_id", newest_id)
            page_token = meta.get("next_token")
            if not page_token:
                break
        posts.sort(key=lambda post: int(post.post_id))  # oldest first
        return posts, newest_id

    @staticmethod
    def _post_from_v2(tweet, usernames: dict) -> InboundPost:
        references = {ref.type for ref in tweet.referenced_tweets or []}
        mentions = (tweet.entities or {}).get("mentions", [])
        return InboundPost(
            post_id=str(tweet.id),
            author=Person(str(tweet.author_id), usernames.get(tweet.author_id, "")),
            text=tweet.text,
            mentions=tuple(Person(str(m["id"]), m["username"]) for m in mentions if "id" in m),
            is_retweet="retweeted" in references,
            is_quote="quoted" in references,
        )

    # Out

    def messages_for_event(self, event) -> list[OutboundMessage]:
        return messages.for_event(event, self.config.wallet_public_url)

    def messages_for_rejection(self, post, reason, explanation, *, private):
        return messages.for_rejection(post, reason, explanation, private=private)

    def name_person(self, handle: str, namespace: str) -> str:
        # Its own @handle is named only when X resolved no account for it
        # (nobody to ping); a person of another network never gets an @ here,
        # which would ping whoever holds that handle on X.
        return f"@{handle}" if namespace == self.name else f"{handle} on {namespace}"

    def send(self, message: OutboundMessage) -> None:
        try:
            if message.in_reply_to:
                self.api.create_tweet(
                    text=message.text,
                    in_reply_to_tweet_id=message.in_reply_to,
                    user_auth=self.user_auth,
                )
            else:
                self.api.create_direct_message(
                    participant_id=message.direct_to, text=message.text, user_auth=self.user_auth
                )
        except tweepy.TooManyRequests as limited:
            raise RateLimited(limited.reset_time or time.time() + 60) from None
