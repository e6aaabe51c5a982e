"""OpenTelemetry traces over OTLP/HTTP, end to end: a Messenger webhook
delivered to the real `envoi serve`'s gateway starts a trace that its gRPC
call to the core continues, down to the core's SQL; every span reaches a real
OTLP receiver over HTTP. The sender's W3C traceparent is linked, never
followed (a hostile sender must not choose our trace ids). Off by default."""

import json
import logging
import os
import secrets

import pytest
import requests
from envoi_channel_messenger.channel import WEBHOOK_PATH
from envoi_channel_messenger.send_api_emulator import SendApiEmulator
from envoi_channel_messenger.webhook import sign
from opentelemetry.proto.trace.v1.trace_pb2 import Span as ProtoSpan
from opentelemetry.sdk.trace import TracerProvider
from otlp_receiver import OtlpReceiver
from server_process import wait_for

from envoi.core.observability import logs, tracing

SERVER, CLIENT = ProtoSpan.SPAN_KIND_SERVER, ProtoSpan.SPAN_KIND_CLIENT


@pytest.fixture
def otlp():
    with OtlpReceiver() as receiver:
        yield receiver


def test_a_webhooks_trace_goes_through_the_gateway_to_the_core_and_its_sql(otlp, envoi_serve):
    # otlp first: it is stopped after the server, which sends its last spans as it stops
    trace_id, parent_id = secrets.token_hex(16), secrets.token_hex(8)
    with SendApiEmulator(page_id="1001") as meta:
        serve = envoi_serve(
            {
                **meta.env(),
                "ENVOI_CHANNELS": "messenger",
                "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
                "OTEL_BSP_SCHEDULE_DELAY": "100",  # milliseconds: spans leave at once
            }
        )
        event = meta.user_message("5000000001", "envoyer 10€ @alice")  # nobody linked
        body = json.dumps(meta.webhook_payload(event)).encode()
        delivered = requests.post(
            serve.gateway_url + WEBHOOK_PATH,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Hub-Signature-256": sign(body, meta.app_secret),
                "traceparent": f"00-{trace_id}-{parent_id}-01",  # the sender's trace, linked
            },
            timeout=10,
        )
        assert delivered.status_code == 200, delivered.text

        def webhook_trace():
            spans = otlp.received()
            webhooks = [s for s in spans if (trace_id, parent_id) in s.links]
            if not webhooks:
                return None
            in_trace = [s for s in spans if s.trace_id == webhooks[0].trace_id]
            services = {(s.service, s.kind) for s in in_trace}
            sql = any(s.service == "envoi-serve" and "db.system" in s.attributes for s in in_trace)
            wanted = {("envoi-gateway", SERVER), ("envoi-gateway", CLIENT), ("envoi-serve", SERVER)}
            return in_trace if wanted <= services and sql else None

        spans = wait_for(webhook_trace, "the webhook's trace in the gateway, the core and its SQL")
    [webhook] = [s for s in spans if s.service == "envoi-gateway" and s.kind == SERVER]
    assert (webhook.name, webhook.parent_span_id) == (f"POST {WEBHOOK_PATH}", "")
    assert webhook.trace_id != trace_id  # a trace of ours, the sender's linked
    grpc_spans = [s for s in spans if s.attributes.get("rpc.system") == "grpc"]
    calls = [s for s in grpc_spans if s.service == "envoi-gateway" and s.kind == CLIENT]
    served = [s for s in grpc_spans if s.service == "envoi-serve" and s.kind == SERVER]
    assert calls and served
    # Each RPC the core served is the child of the gateway's call, by span id.
    assert {s.parent_span_id for s in served} <= {c.span_id for c in calls}
    assert {c.name for c in calls} == {s.name for s in served}
    assert all(name.startswith("/envoi.v1.") for name in {c.name for c in calls})


def test_traces_are_off_unless_the_otel_variables_ask(monkeypatch):
    for name in (*tracing.ENDPOINT_VARIABLES, "OTEL_TRACES_EXPORTER", "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert not tracing.wanted(os.environ)
    assert tracing.wanted({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"})
    assert tracing.wanted({"OTEL_TRACES_EXPORTER": "otlp"})
    assert not tracing.wanted({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "x"})
    assert not tracing.wanted({"OTEL_SDK_DISABLED": "true", "OTEL_TRACES_EXPORTER": "otlp"})


def test_a_json_log_line_names_its_request_and_its_trace():
    tracer = TracerProvider().get_tracer("envoi.tests")  # its own: the process's stays off
    set_request_id = logs.request_id.set("order-7731")
    try:
        with tracer.start_as_current_span("an RPC") as span:
            record = logging.LogRecord(
                "envoi.rpc", logging.INFO, __file__, 1, "%s", ("paid",), None
            )
            line = json.loads(logs.JsonFormatter().format(record))
    finally:
        logs.request_id.reset(set_request_id)
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert (line["request_id"], line["message"], line["level"]) == ("order-7731", "paid", "INFO")
    outside = json.loads(logs.JsonFormatter().format(record))
    assert "trace_id" not in outside and "request_id" not in outside
