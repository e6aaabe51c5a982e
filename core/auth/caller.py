"""Who is calling: the role and identity behind the bearer token of this RPC."""

import contextvars
import dataclasses

from envoi.core.enums import Role


@dataclasses.dataclass(frozen=True)
class Caller:
    token_id: str
    role: str  # channel, wallet, merchant, admin or ledger
    channel_name: str | None = None
    merchant_account_id: str | None = None
    # A rotated merchant key that still works until its revoke_time.
    in_grace_period: bool = False
    # What a merchant's key may do beyond its role (api_tokens.SCOPES).
    scopes: frozenset[str] = frozenset()

    @property
    def principal(self) -> str:
        """Whose request ids and transfers these are: shared by the tokens of one party,
        so that a rotated token or a second gateway instance sees the same ones."""
        if self.role == Role.CHANNEL:
            return f"channel:{self.channel_name}"
        if self.role == Role.MERCHANT:
            return f"merchant:{self.merchant_account_id}"
        return self.role


# Set by the auth interceptor for the duration of one RPC.
current_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("current_caller")
