"""`python -m envoi.core.cli`: the `envoi` command."""

from envoi.core.cli import main

main()
