"""Every RPC fuzzed with hypothesis: requests built from the protos' own
descriptors, each field random or one of the values that reach deeper code
(real ids, codes, currencies, extremes). Whatever comes in, the answer is a
success or a typed error (one ErrorInfo with a reason the client knows),
never UNKNOWN or INTERNAL, and a failed call leaves the ledger as it was."""

import string
import uuid

import grpc
import pytest
import rpc_catalog
from error_status import ledger_state
from google.protobuf import descriptor as d
from google.protobuf import message_factory
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envoi.client import errors
from envoi.core.auth import roles

METHODS = rpc_catalog.methods_by_path()
# The role each method is fuzzed with: the strongest that may call it.
ROLE_PREFERENCE = ("admin", "wallet", "merchant", "ledger", "channel")

INT_RANGES = {
    d.FieldDescriptor.TYPE_INT32: (-(2**31), 2**31 - 1),
    d.FieldDescriptor.TYPE_INT64: (-(2**63), 2**63 - 1),
    d.FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    d.FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    d.FieldDescriptor.TYPE_SINT32: (-(2**31), 2**31 - 1),
    d.FieldDescriptor.TYPE_SINT64: (-(2**63), 2**63 - 1),
}


def test_every_rpc_is_fuzzed():
    assert set(METHODS) == set(roles.ALLOWED_ROLES_BY_METHOD)


@pytest.fixture(scope="module")
def world(open_account, wallet, admin, merchant):
    """Real things for the fuzzer to aim at: accounts, a pending transfer."""
    alice, bob = open_account(balance_cents=100_000, tier="VERIFIED"), open_account()
    association = open_account("ASSOCIATION")
    pending = wallet.initiate_transfer(alice, bob, 100).transfer_id
    done = wallet.initiate_transfer(alice, bob, 200).transfer_id
    wallet.confirm_transfer(done, "123456")
    hashtag = "Fuzz" + uuid.uuid4().hex[:8]
    collection = wallet.create_collection(association, "Fuzz drive", hashtag).collection_id
    return {
        "ids": [alice, bob, association, merchant[0], pending, done, collection],
        "hashtags": [hashtag, "#" + hashtag.upper(), "envoyer", "NoSuchDrive", "#a-b"],
        "strings": [
            "",
            "123456",
            "000000",
            "EUR",
            "USD",
            "eur",
            "twitter",
            "sandbox",
            "PERSON",
            "FR7630006000011234567890189",
            "4242424242424242",
            "\x00",
            "é" * 101,
            "x" * 5_000,
            str(uuid.uuid4()),
            str(uuid.uuid4()).upper(),
        ],
    }


def plausible(field, world):
    """Values a real caller would send, by the field's name: they get past
    validation, so the fuzzer reaches the ledger, not only the checks."""
    name = field.name
    if name == "request_id":
        return st.uuids().map(lambda u: f"fuzz-{u}")
    if name.endswith("_id") and field.type == d.FieldDescriptor.TYPE_STRING:
        return st.sampled_from(world["ids"])
    if name.endswith("hashtag"):
        return st.sampled_from(world["hashtags"])
    if name in ("code", "new_code"):
        return st.sampled_from(["123456", "654321"])
    if name == "currency_code":
        return st.sampled_from(["EUR", "USD"])
    if name == "amount_cents":
        return st.integers(1, 60_000)
    return None


def field_values(field, world, depth: int):
    likely = plausible(field, world)
    if likely is not None:
        return st.one_of(likely, likely, likely, any_value(field, world, depth))
    return any_value(field, world, depth)


def any_value(field, world, depth: int):
    if field.type == d.FieldDescriptor.TYPE_STRING:
        return st.one_of(
            st.sampled_from(world["ids"]),
            st.sampled_from(world["strings"]),
            st.text(max_size=40),
            st.text(alphabet=string.digits, min_size=5, max_size=7),
        )
    if field.type == d.FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=200)
    if field.type == d.FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type == d.FieldDescriptor.TYPE_ENUM:
        known = [value.number for value in field.enum_type.values]
        return st.one_of(st.sampled_from(known), st.integers(-3, max(known) + 3))
    if field.type in INT_RANGES:
        low, high = INT_RANGES[field.type]
        return st.one_of(
            st.sampled_from([0, 1, -1, 100, 50_000, 1_000_000, low, high]),
            st.integers(low, high),
        )
    if field.type == d.FieldDescriptor.TYPE_MESSAGE:
        return messages(field.message_type, world, depth + 1)
    raise AssertionError(f"no strategy for {field.full_name}")


def messages(descriptor, world, depth: int = 0):
    message_class = message_factory.GetMessageClass(descriptor)
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(
            lambda seconds, nanos: message_class(seconds=seconds, nanos=nanos),
            st.integers(-(2**40), 2**40),
            st.integers(-5, 10**9 + 5),
        )
    if depth > 3:
        return st.just(message_class())

    @st.composite
    def build(draw):
        message = message_class()
        for field in descriptor.fields:
            if draw(st.integers(0, 4)) == 0:
                continue  # unset, one time in five
            values = field_values(field, world, depth)
            if field.is_repeated:
                for value in draw(st.lists(values, max_size=3)):
                    if field.type == d.FieldDescriptor.TYPE_MESSAGE:
                        getattr(message, field.name).add().CopyFrom(value)
                    else:
                        getattr(message, field.name).append(value)
            elif field.type == d.FieldDescriptor.TYPE_MESSAGE:
                getattr(message, field.name).CopyFrom(draw(values))
            else:
                setattr(message, field.name, draw(values))
        return message

    return build()


@pytest.fixture(scope="module")
def tokens(make_token, merchant):
    return {
        "admin": make_token("admin"),
        "wallet": make_token("wallet"),
        "merchant": make_token("merchant", merchant_account_id=merchant[0]),
        "ledger": make_token("ledger"),
        "channel": make_token("channel", channel_name="twitter"),
    }


def call(grpc_channel, path: str, method, request, token: str):
    response_class = message_factory.GetMessageClass(method.output_type)
    metadata = (("authorization", f"Bearer {token}"),)
    if method.server_streaming:
        stub = grpc_channel.unary_stream(path, request.SerializeToString, response_class.FromString)
        stream = stub(request, metadata=metadata, timeout=0.5)
        try:
            next(iter(stream), None)
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.DEADLINE_EXCEEDED:  # an open stream: fine
                raise
        return
    stub = grpc_channel.unary_unary(path, request.SerializeToString, response_class.FromString)
    stub(request, metadata=metadata, timeout=10)


@pytest.mark.parametrize("path", sorted(METHODS), ids=lambda path: path.rsplit("/", 1)[1])
def test_a_fuzzed_request_gets_an_answer_or_a_typed_error_and_a_failure_writes_nothing(
    path, grpc_channel, tokens, world, db
):
    method = METHODS[path]
    role = next(role for role in ROLE_PREFERENCE if role in roles.ALLOWED_ROLES_BY_METHOD[path])

    outcomes = []

    @settings(
        max_examples=40,
        deadline=None,
        derandomize=True,  # the same examples on every run: CI does not flicker
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=messages(method.input_type, world))
    def fuzz(request):
        before = ledger_state(db)
        try:
            call(grpc_channel, path, method, request, tokens[role])
            outcomes.append("OK")
        except grpc.RpcError as error:
            outcomes.append(error.code().name)
            assert error.code() not in (grpc.StatusCode.UNKNOWN, grpc.StatusCode.INTERNAL), (
                f"{path} answered {error.code().name}: {error.details()} to {request}"
            )
            status = rpc_status.from_call(error)
            assert status is not None, f"{path}: no status details for {request}"
            infos = [
                info
                for detail in status.details
                if detail.Unpack(info := error_details_pb2.ErrorInfo())
            ]
            assert len(infos) == 1 and infos[0].reason in errors.ERRORS_BY_REASON, infos
            assert ledger_state(db) == before, f"{path} failed and changed the ledger: {request}"

    fuzz()
    assert len(outcomes) >= 40, outcomes  # the examples ran
