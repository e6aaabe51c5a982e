"""envoi.providers: payment providers, the systems that move money between
envoi and the banking world. A FundingProvider charges bank cards (money in);
a PayoutProvider sends bank transfers to an IBAN (money out).

They are plugins, with the same hooks module as channels but a plugin
manager of their own (hooks envoi_funding_providers and
envoi_payout_providers, entry point group envoi.providers);
docs/providers.md explains how to write one. The sandbox provider
(envoi.providers.sandbox) is built in and registered the same way.
"""
