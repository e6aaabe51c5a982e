"""How an API command prints its reply (--output):

- json (the default): the whole reply, as protobuf's JSON mapping with the
  proto field names; stable for scripts (int64 amounts are strings).
- table: one `field  value` line per set field, nested fields dotted, money
  as `39.50 EUR`; a list prints one block per item. For people.
- id: only the reply's id (the first `*_id` field, looking into nested
  messages), one per line for a list: `ALICE=$(envoi account open ... --output id)`.
- secret (the commands that make an API key or a webhook secret): only it.
"""

import json
import os
from decimal import Decimal

from google.protobuf import json_format
from google.protobuf.descriptor import FieldDescriptor

OUTPUTS = ("json", "table", "id")
WITH_SECRET = OUTPUTS + ("secret",)
CENT_DIGITS = 2
# Labels that say what a field means where its name alone misleads: an
# account's tier is how far its holder's identity is checked (its limits), not
# whether a business is verified (business_profile.verified).
TABLE_LABELS = {"tier": "tier (limits; identity checks)"}


def message_dict(message) -> dict:
    return json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )


def print_reply(reply, output: str) -> None:
    """reply: a message, a list of messages, or None (a call that returns nothing)."""
    if output == "json":
        value = [message_dict(m) for m in reply] if isinstance(reply, list) else reply
        value = message_dict(value) if hasattr(value, "DESCRIPTOR") else value or {}
        print(json.dumps(value, indent=2, ensure_ascii=False))
    elif output == "secret":
        print(reply.secret)
    elif output == "id":
        for item in listed(reply):
            print(first_id(item))
    else:
        for index, item in enumerate(listed(reply)):
            if index:
                print()
            print_table(_unwrapped(short_enums(item, message_dict(item))))
        if getattr(reply, "next_page_token", ""):  # a page, and more after it
            print(f"\nnext page: --page-token {reply.next_page_token}")


def listed(reply) -> list:
    """The items of a reply: a list's, a page's (its one repeated message field:
    transfers, collections, ...), else the reply alone."""
    if reply is None or isinstance(reply, list):
        return reply or []
    messages = [f for f in reply.DESCRIPTOR.fields if f.message_type]
    if len(messages) == 1 and messages[0].is_repeated:
        return list(getattr(reply, messages[0].name))
    return [reply]


def short_enums(message, value: dict) -> dict:
    """value (message's dict) with enum names without their type's prefix
    (COMPLETED, not TRANSFER_STATE_COMPLETED), and unset ones empty."""
    for field in message.DESCRIPTOR.fields:
        if field.name not in value:
            continue
        if field.enum_type:
            prefix = os.path.commonprefix(list(field.enum_type.values_by_name))
            prefix = prefix[: prefix.rfind("_") + 1]
            names = value[field.name]
            listed_names = names if isinstance(names, list) else [names]
            short = [str(n).removeprefix(prefix) for n in listed_names]
            short = [name for name in short if name != "UNSPECIFIED"]  # unset: not shown
            value[field.name] = short if isinstance(names, list) else "".join(short)
        elif (
            field.message_type
            and field.is_repeated
            and not field.message_type.GetOptions().map_entry
        ):
            for item, item_value in zip(
                getattr(message, field.name), value[field.name], strict=True
            ):
                if isinstance(item_value, dict):  # not a well-known type's text
                    short_enums(item, item_value)
        elif field.message_type and not field.is_repeated and isinstance(value[field.name], dict):
            short_enums(getattr(message, field.name), value[field.name])
    return value


def first_id(message) -> str:
    """The first non-empty string field named *_id, in declaration order,
    the message's own fields before its nested messages'."""
    fields = message.DESCRIPTOR.fields
    for field in fields:
        if field.name.endswith("_id") and field.type == FieldDescriptor.TYPE_STRING:
            if not _repeated(field) and getattr(message, field.name):
                return getattr(message, field.name)
    for field in fields:
        if field.message_type and not _repeated(field) and message.HasField(field.name):
            found = first_id(getattr(message, field.name))
            if found:
                return found
    return ""


def _repeated(field) -> bool:
    return field.is_repeated


def money_text(money: dict) -> str:
    """{"currency_code": "EUR", "amount_cents": "3950"} as 39.50 EUR."""
    cents = int(money.get("amount_cents", 0))
    return f"{Decimal(cents).scaleb(-CENT_DIGITS)} {money.get('currency_code', '')}".strip()


def _is_money(value) -> bool:
    return isinstance(value, dict) and set(value) == {"currency_code", "amount_cents"}


def table_rows(value: dict, prefix: str = "") -> list[tuple[str, str]]:
    """(label, text) for each set field, nested messages flattened with dots."""
    rows = []
    for key, item in value.items():
        label = prefix + TABLE_LABELS.get(key, key)
        if _is_money(item):
            rows.append((label, money_text(item)))
        elif isinstance(item, dict):
            rows.extend(table_rows(item, label + "."))
        elif isinstance(item, list):
            for index, element in enumerate(item):
                if isinstance(element, dict):
                    rows.extend(table_rows(element, f"{label}[{index}]."))
                else:
                    rows.append((f"{label}[{index}]", str(element)))
        elif item is True:
            rows.append((label, "true"))
        elif not (item is False or item is None or item == ""):  # unset: not shown
            rows.append((label, str(item)))
    return rows


def _unwrapped(value: dict) -> dict:
    """A reply that only wraps one message ({"transfer": {...}}): that message."""
    if len(value) == 1 and isinstance(next(iter(value.values())), dict):
        return next(iter(value.values()))
    return value


def print_table(value: dict) -> None:
    rows = table_rows(value)
    width = max((len(label) for label, _ in rows), default=0)
    for label, text in rows:
        print(f"{label.ljust(width)}  {text}")
