"""Reading a WatchEvents stream from synchronous test code, with timeouts."""

import queue
import threading
import time

_END = object()


class StreamReader:
    """Iterates an EventStream on a thread of its own; the test takes events
    from a queue with a timeout. Errors of the stream are raised by take()."""

    def __init__(self, stream):
        self.stream = stream
        self._queue = queue.Queue()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self):
        try:
            for event in self.stream:
                self._queue.put(event)
        except Exception as error:  # handed to the test by take()
            self._queue.put(error)
        self._queue.put(_END)

    def take(self, count: int, timeout_s: float = 10.0) -> list:
        """The next `count` events; fails if they do not all come within timeout_s."""
        deadline = time.monotonic() + timeout_s
        events = []
        while len(events) < count:
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"{len(events)} of {count} events within {timeout_s} s"
                ) from None
            if isinstance(item, Exception):
                raise item
            if item is _END:
                raise AssertionError(f"the stream ended after {len(events)} of {count} events")
            events.append(item)
        return events

    def assert_quiet(self, for_s: float) -> None:
        """No event comes within for_s."""
        try:
            item = self._queue.get(timeout=for_s)
        except queue.Empty:
            return
        raise AssertionError(f"expected no event, got {item}")

    def close(self) -> None:
        self.stream.cancel()
        self._thread.join(timeout=10)
        assert not self._thread.is_alive()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()
