"""The Twitter/X channel, registered through the `envoi.channels` entry point group."""
