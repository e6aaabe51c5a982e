"""A clock the test moves by hand, for code that takes `clock=time.monotonic`."""


class FakeClock:
    def __init__(self, now_s: float = 1000.0):
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s
