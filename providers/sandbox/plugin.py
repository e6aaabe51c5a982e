"""Registers the sandbox provider through the `envoi.providers` entry point
group, exactly as an outside provider plugin registers."""

from envoi.channels import hookimpl
from envoi.providers.sandbox.bank_transfers import SandboxBankTransfers
from envoi.providers.sandbox.cards import SandboxCards
from envoi.providers.sandbox.config import SETTINGS_HELP, SandboxConfig


@hookimpl
def envoi_funding_providers(env):
    config = SandboxConfig.from_env(env)
    return [SandboxCards(config)] if config else []


@hookimpl
def envoi_payout_providers(env):
    config = SandboxConfig.from_env(env)
    return [SandboxBankTransfers(config)] if config else []


@hookimpl
def envoi_settings_help():
    return SETTINGS_HELP
