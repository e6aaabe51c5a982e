"""Who may call what: the auth interceptor, the role table, per-account access,
the caller, tokens, API keys and their cache."""
