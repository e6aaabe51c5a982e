"""Log lines as text (the default, for a terminal) or as JSON lines for a log
collector (ENVOI_LOG_FORMAT=json), with the RPC's request id and the trace id.

A JSON line holds the message as the code formatted it, nothing more: what
keeps secrets out of the text keeps them out of the JSON too."""

import contextvars
import json
import logging
import time

from opentelemetry import trace

from envoi.core.config import ConfigError

TEXT_FORMAT = "%(asctime)s %(process)d %(name)s %(message)s"
FORMATS = ("text", "json")

# The request_id of the RPC being served (AIP-155), set by the metrics interceptor.
request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
            "message": record.getMessage(),
        }
        if request_id.get():
            line["request_id"] = request_id.get()
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


JsonFormatter.converter = time.gmtime  # times in UTC, as the Z says


def log_format(env) -> str:
    value = (env.get("ENVOI_LOG_FORMAT") or "text").strip().lower()
    if value not in FORMATS:
        raise ConfigError("ENVOI_LOG_FORMAT must be text or json")
    return value


def setup_logging(env) -> None:
    """The root logger at INFO, on stderr, in ENVOI_LOG_FORMAT."""
    if log_format(env) == "json":
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    else:
        logging.basicConfig(level=logging.INFO, format=TEXT_FORMAT)
