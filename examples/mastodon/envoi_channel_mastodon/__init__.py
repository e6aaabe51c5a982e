"""An envoi channel for Mastodon (and the fediverse servers that speak its API)."""
