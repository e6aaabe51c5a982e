"""envoi.v1.WebhookService: a merchant's webhook endpoints and their delivery log.

A merchant key manages the endpoints of its own account; an admin reads
anyone's (roles.py). A secret is in the answer to CreateWebhookEndpoint or
RotateWebhookSecret and nowhere else: the server's database role can write it
but not read it back, and the answer kept for a retry has it removed.
Delivery itself is the `envoi webhooks` worker's (core/webhooks/worker.py).
"""

from envoi.core.api import page_tokens, proto_rows
from envoi.core.api.api_key_service import without_secret
from envoi.core.api.event_service import encode_cursor
from envoi.core.api.mutations import mutation
from envoi.core.api.request_validation import RequestCheck
from envoi.core.auth.access import require_own_account
from envoi.core.auth.caller import current_caller
from envoi.core.enums import EventType, proto_names
from envoi.core.ledger.transactions import run_in_transaction
from envoi.core.runtime import Runtime
from envoi.core.webhooks import endpoints, urls
from envoi.v1 import webhook_pb2, webhook_service_pb2, webhook_service_pb2_grpc

MAX_EVENT_TYPES = len(EventType)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_DELIVERY_ID = 2**63 - 1


def _delivery(row: dict) -> webhook_pb2.WebhookDelivery:
    return proto_rows.webhook_delivery(row, encode_cursor(row["tx_id"], row["event_id"]))


def _delivery_id(check: RequestCheck, value: str) -> int:
    if not (value.isascii() and value.isdigit()) or not 0 < int(value) <= MAX_DELIVERY_ID:
        check.fail("delivery_id", "must be a delivery_id from ListWebhookDeliveries")
        return 0
    return int(value)


class WebhookService(webhook_service_pb2_grpc.WebhookServiceServicer):
    SERVICE = webhook_service_pb2.DESCRIPTOR.services_by_name["WebhookService"]

    def __init__(self, runtime: Runtime):
        self.runtime = runtime

    @mutation
    def CreateWebhookEndpoint(self, request, once):
        caller = current_caller.get()
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("account_id", request.account_id)
        refusal = urls.url_refusal(
            request.url, allow_http_loopback=self.runtime.settings.webhooks_allow_http_loopback
        )
        if refusal:
            check.fail("url", refusal)
        types = list(request.event_types)
        allowed = proto_names(EventType)
        if not 1 <= len(types) <= MAX_EVENT_TYPES or len(set(types)) != len(types):
            check.fail("event_types", f"1 to {MAX_EVENT_TYPES} event types, each once")
        elif not set(types) <= allowed.keys():
            check.fail("event_types", f"each one of: {', '.join(allowed.values())}")
        check.raise_if_any()
        require_own_account(caller, request.account_id)
        names = [EventType.from_proto(number).value for number in types]

        def work(conn):
            row, secret = endpoints.create(conn, request.account_id, request.url, names)
            return webhook_service_pb2.CreateWebhookEndpointResponse(
                endpoint=proto_rows.webhook_endpoint(row), secret=secret
            )

        return once(work, redact=without_secret)

    def ListWebhookEndpoints(self, request, context):
        check = RequestCheck()
        check.uuid("account_id", request.account_id)
        check.raise_if_any()
        require_own_account(current_caller.get(), request.account_id)
        rows = run_in_transaction(
            self.runtime.pool, lambda conn: endpoints.list_endpoints(conn, request.account_id)
        )
        return webhook_service_pb2.ListWebhookEndpointsResponse(
            endpoints=[proto_rows.webhook_endpoint(row) for row in rows]
        )

    @mutation
    def DeleteWebhookEndpoint(self, request, once):
        self._check_endpoint_request(request)

        def work(conn):
            endpoint = self._own_endpoint(conn, request.endpoint_id, lock=True)
            endpoints.delete(conn, endpoint["endpoint_id"])
            return webhook_service_pb2.DeleteWebhookEndpointResponse()

        return once(work)

    @mutation
    def RotateWebhookSecret(self, request, once):
        self._check_endpoint_request(request)

        def work(conn):
            endpoint = self._own_endpoint(conn, request.endpoint_id, lock=True)
            endpoints.require_enabled(endpoint)
            return webhook_service_pb2.RotateWebhookSecretResponse(
                endpoint=proto_rows.webhook_endpoint(endpoint),
                secret=endpoints.new_secret(conn, endpoint["endpoint_id"]),
            )

        return once(work, redact=without_secret)

    def ListWebhookDeliveries(self, request, context):
        check = RequestCheck()
        check.uuid("endpoint_id", request.endpoint_id)
        if not 0 <= request.page_size <= MAX_PAGE_SIZE:
            check.fail("page_size", f"must be between 0 and {MAX_PAGE_SIZE}")
        check.raise_if_any()
        digest = page_tokens.filters_digest("webhook_deliveries", request.endpoint_id)
        before_id = page_tokens.decode(request.page_token, digest)
        limit = request.page_size or DEFAULT_PAGE_SIZE

        def read(conn):
            self._own_endpoint(conn, request.endpoint_id)
            return endpoints.list_deliveries(conn, request.endpoint_id, before_id, limit + 1)

        rows = run_in_transaction(self.runtime.pool, read)
        response = webhook_service_pb2.ListWebhookDeliveriesResponse(
            deliveries=[_delivery(row) for row in rows[:limit]]
        )
        if len(rows) > limit:
            response.next_page_token = page_tokens.encode(rows[limit - 1]["delivery_id"], digest)
        return response

    @mutation
    def Redeliver(self, request, once):
        check = RequestCheck()
        check.request_id(request.request_id)
        delivery_id = _delivery_id(check, request.delivery_id)
        check.raise_if_any()

        def work(conn):
            delivery = endpoints.get_delivery(conn, delivery_id)
            endpoint = self._own_endpoint(conn, str(delivery["endpoint_id"]), lock=True)
            endpoints.require_enabled(endpoint)
            return webhook_service_pb2.RedeliverResponse(
                delivery=_delivery(endpoints.redeliver(conn, delivery))
            )

        return once(work)

    @staticmethod
    def _check_endpoint_request(request) -> None:
        check = RequestCheck()
        check.request_id(request.request_id)
        check.uuid("endpoint_id", request.endpoint_id)
        check.raise_if_any()

    @staticmethod
    def _own_endpoint(conn, endpoint_id: str, *, lock: bool = False) -> dict:
        """The endpoint, if the caller may reach it (a merchant: its own)."""
        endpoint = endpoints.get(conn, endpoint_id, lock=lock)
        require_own_account(current_caller.get(), str(endpoint["account_id"]))
        return endpoint
