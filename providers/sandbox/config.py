"""The sandbox provider's one setting: the secret its callbacks are signed with."""

import dataclasses

from envoi.providers import signatures

SETTINGS_HELP = """\
  ENVOI_SANDBOX_WEBHOOK_SECRET     enables the sandbox payment provider (test
                                   cards and IBANs, no real money; never in
                                   production) and signs its callbacks (>= 32
                                   characters)
"""


@dataclasses.dataclass(frozen=True)
class SandboxConfig:
    webhook_secret: bytes = dataclasses.field(repr=False)

    @classmethod
    def from_env(cls, env) -> "SandboxConfig | None":
        secret = env.get("ENVOI_SANDBOX_WEBHOOK_SECRET")
        if not secret:
            return None
        if len(secret) < signatures.MIN_SECRET_LENGTH:
            raise ValueError(
                f"ENVOI_SANDBOX_WEBHOOK_SECRET must be at least "
                f"{signatures.MIN_SECRET_LENGTH} characters"
            )
        return cls(webhook_secret=secret.encode())
