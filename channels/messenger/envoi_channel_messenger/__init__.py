"""envoi-channel-messenger: payments from a conversation with a Facebook page.

A plugin for envoi, built only on its public plugin API (envoi.channels) and
its client (envoi.client, envoi.v1); docs/plugins.md walks through it.
"""
