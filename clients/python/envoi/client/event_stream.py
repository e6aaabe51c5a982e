"""EventStream: one account's live events (EventService.WatchEvents), resumed
from the last event after a dropped connection or a server restart."""

import threading
import time
from collections.abc import Callable, Iterator

import grpc

from envoi.client import errors
from envoi.v1 import event_pb2


class EventStream:
    """Iterate it for envoi.v1.Event messages, oldest first. It ends only when
    cancelled (cancel(), from any thread, or leaving a `with` block) or with a
    typed error. After UNAVAILABLE it calls WatchEvents again from the last
    event it gave (`last_event_id`), so no event is missed or repeated; up to
    max_attempts times in a row, with backoff doubling from retry_backoff_s.
    """

    def __init__(
        self,
        open_call: Callable[[str], grpc.Call],
        after_cursor: str,
        *,
        max_attempts: int,
        retry_backoff_s: float,
    ):
        self._open_call = open_call  # after_cursor -> a new WatchEvents call
        self.last_event_id = after_cursor
        self.max_attempts = max_attempts
        self.retry_backoff_s = retry_backoff_s
        self._lock = threading.Lock()
        self._call = None
        self._cancelled = False

    def __iter__(self) -> Iterator[event_pb2.Event]:
        """Iterate once: when the iteration ends, however it ends, the call is cancelled."""
        try:
            yield from self._events()
        finally:
            self.cancel()

    def _events(self) -> Iterator[event_pb2.Event]:
        failures = 0
        while True:
            with self._lock:  # so that cancel() cannot miss a call being opened
                if self._cancelled:
                    return
                self._call = self._open_call(self.last_event_id)
            try:
                for response in self._call:
                    failures = 0
                    self.last_event_id = response.event.event_id
                    yield response.event
                return
            except grpc.RpcError as rpc_error:
                if self._cancelled:
                    return
                failures += 1
                if rpc_error.code() not in errors.RETRIED_CODES or failures >= self.max_attempts:
                    raise errors.from_rpc_error(rpc_error) from None
            time.sleep(self.retry_backoff_s * 2 ** (failures - 1))

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            call = self._call
        if call is not None:
            call.cancel()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.cancel()
