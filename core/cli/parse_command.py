"""`envoi parse`: the channels' grammar, offline."""

import argparse
import os
import sys

from envoi.core.cli.options import print_json


def _post_parser(args):
    """The grammar of --channel's channel (configured from the environment,
    as for `envoi gateway`), else X's with --bot."""
    from envoi.channels import grammar  # no database, no server: just the parser

    if not args.channel:
        bot = args.bot or os.environ.get("ENVOI_TWITTER_BOT_HANDLE") or "SmoneyFR"
        return grammar.Grammar(bot.removeprefix("@"), grammar.keywords_from_env(os.environ))
    from envoi.plugins import load_channels

    channels = {channel.name: channel for channel in load_channels(os.environ)}
    if args.channel not in channels:
        raise ValueError(
            f"no channel {args.channel!r} is configured here (configured: "
            f"{', '.join(sorted(channels)) or 'none'}): set its variables as for envoi gateway"
        )
    return channels[args.channel].grammar


def cmd_parse(args):
    from envoi.channels import grammar

    try:
        parser = _post_parser(args)
    except ValueError as error:
        print(f"envoi parse: {error}", file=sys.stderr)
        sys.exit(2)  # not 1, which means "the post was rejected"
    result = parser.parse(args.text, direct_message=args.dm)
    if isinstance(result, grammar.Rejection):
        print_json({"error": {"reason": result.reason, "message": result.message}})
        sys.exit(1)
    if isinstance(result, grammar.RequestIntent):
        print_json(
            {
                "amount_cents": result.amount_cents,
                "currency": result.currency,
                "payers": list(result.payers),
                "shares_cents": list(result.shares_cents()),
                "memo": result.memo,
            }
        )
        return
    print_json(
        {
            "amount_cents": result.amount_cents,
            "currency": result.currency,
            "recipient": result.recipient,
            "memo": result.memo,
        }
    )


PARSE_HELP = """\
Prints one JSON object on stdout. Accepted, exit 0:
  {"amount_cents": 1050, "currency": "EUR", "recipient": "alice", "memo": "..."}
A collection, named by its hashtag when nobody is mentioned:
  {"amount_cents": 500, "currency": "EUR", "recipient": "#TelethonACF", "memo": ""}
A request (#demander; #partage shares it, the first-named paying the odd cents):
  {"amount_cents": 1000, "currency": "EUR", "payers": ["bob", "carol", "dan"],
   "shares_cents": [334, 333, 333], "memo": ""}
Rejected, exit 1:
  {"error": {"reason": "UPPER_SNAKE", "message": "..."}}
A bad --bot or keyword list, or a --channel not configured, exits 2, with a
message on stderr.

environment:
  ENVOI_TWITTER_BOT_HANDLE  the bot's X handle, without @ (default: SmoneyFR)
  ENVOI_CHANNEL_KEYWORDS    payment hashtags, comma-separated, without #
                            (default: envoyer,send)
  with --channel, the channel's own settings (envoi gateway --help)

example:
  envoi parse '@SmoneyFR #envoyer 10,50€ @alice merci'
  envoi parse '@SmoneyFR #envoyer 5€ #TelethonACF'
  envoi parse '@SmoneyFR #demander 10€ @bob @carol @dan #partage'
  envoi parse -- '-10€ ...'    (a text starting with - comes after --)
  envoi parse --channel messenger --dm 'envoyer 10€ @alice'
"""


def add_parse(commands):
    parse = commands.add_parser(
        "parse",
        help="parse a post as a payment, offline (the channels' grammar)",
        description="Parse TEXT with the post grammar (@bot #envoyer 10€ @alice) and print "
        "the transfer it asks for, or why it is rejected. No server, no database.",
        epilog=PARSE_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parse.add_argument("text", metavar="TEXT", help="the post's text, as the network sends it")
    grammar = parse.add_mutually_exclusive_group()
    grammar.add_argument(
        "--bot",
        metavar="HANDLE",
        help="the bot's X handle (default: ENVOI_TWITTER_BOT_HANDLE or SmoneyFR)",
    )
    grammar.add_argument(
        "--channel",
        metavar="NAME",
        help="parse with that channel plugin's grammar instead of X's (envoi plugins)",
    )
    parse.add_argument(
        "--dm",
        action="store_true",
        help="TEXT is a private message to the bot: no mention of it needed",
    )
    parse.set_defaults(handler=cmd_parse)
