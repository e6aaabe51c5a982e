"""OpenTelemetry traces, off unless the standard OTEL_* variables ask for them.

On when OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
OTEL_TRACES_EXPORTER=otlp is set (and OTEL_SDK_DISABLED is not true): spans
go to an OTLP/HTTP receiver (the exporter reads the other OTEL_EXPORTER_OTLP_*
variables itself), for the gRPC server and client calls and the SQL
statements, so one trace follows a channel's webhook through the gateway to
the core and its database. Off, nothing is patched and nothing is sent."""

import logging

log = logging.getLogger("envoi.observability")

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_enabled = False


def wanted(env) -> bool:
    if (env.get("OTEL_SDK_DISABLED") or "").strip().lower() == "true":
        return False
    exporter = (env.get("OTEL_TRACES_EXPORTER") or "").strip().lower()
    if exporter == "none":
        return False
    return exporter == "otlp" or any(env.get(name) for name in ENDPOINT_VARIABLES)


def setup_tracing(service_name: str, env) -> bool:
    """Install the tracer provider and the instrumentations once; True when on."""
    global _enabled
    if _enabled or not wanted(env):
        return _enabled
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.grpc import (
        GrpcAioInstrumentorServer,
        GrpcInstrumentorClient,
    )
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over the default name.
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    GrpcAioInstrumentorServer().instrument()
    GrpcInstrumentorClient().instrument()
    # No SQL comments: they would change every statement's text (and its plan cache).
    PsycopgInstrumentor().instrument(enable_commenter=False)
    _enabled = True
    log.info("traces: exported over OTLP/HTTP as %s", service_name)
    return True


def shutdown() -> None:
    """Send the spans still buffered (at a graceful stop)."""
    if _enabled:
        from opentelemetry import trace

        trace.get_tracer_provider().shutdown()
