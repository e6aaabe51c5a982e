"""The reference wallet of envoi: a person's web pages and their backend."""
