"""What became of a post, over gRPC: GetTransfer by the channel_reference the
channel gave, read with the channel's own token (or by an admin naming the
channel), never another channel's."""

import time

import pytest

from envoi.client import errors
from envoi.v1 import identity_pb2


@pytest.fixture
def post_payment(open_account, wallet, channel_client_for):
    """post_payment(channel) -> (channel_reference, the transfer it started)."""

    def pay(channel: str):
        tag = str(time.monotonic_ns())
        identities = []
        for name, balance_cents in (("alice", 5_000), ("bob", 0)):
            identity = identity_pb2.Identity(
                namespace=channel, subject_id=f"{name}-{tag}", handle=f"{name}{tag[-6:]}"
            )
            wallet.link_identity(open_account(balance_cents=balance_cents), identity)
            identities.append(identity)
        reference = f"post:{tag}"
        transfer = channel_client_for(channel).initiate_transfer(
            *identities, 1_000, channel_reference=reference, request_id=f"{channel}:{tag}"
        )
        return reference, transfer

    return pay


def test_a_channel_reads_what_became_of_its_post(post_payment, channel_client_for):
    reference, started = post_payment("twitter")
    found = channel_client_for("twitter").get_channel_transfer(reference)
    assert found.transfer_id == started.transfer_id and found.channel_reference == reference
    assert found.state == started.state


def test_an_admin_names_the_channel(post_payment, admin):
    reference, started = post_payment("twitter")
    assert admin.get_channel_transfer(reference, channel="twitter").transfer_id == (
        started.transfer_id
    )
    with pytest.raises(errors.TransferNotFound):
        admin.get_channel_transfer(reference, channel="messenger")
    with pytest.raises(errors.InvalidArgument, match="channel"):
        admin.get_channel_transfer(reference)  # whose post?


def test_a_channel_never_reads_another_channel_s_post(post_payment, channel_client_for):
    reference, _ = post_payment("twitter")
    messenger = channel_client_for("messenger")
    with pytest.raises(errors.TransferNotFound):
        messenger.get_channel_transfer(reference)  # its own channel has none
    with pytest.raises(errors.PermissionDenied):
        messenger.get_channel_transfer(reference, channel="twitter")


@pytest.mark.parametrize(
    "fields, field",
    [
        (
            {"channel_reference": "post:1", "transfer_id": "7c5b0f0e-4a55-4a0e-9d2a-1f1e0c6b1a11"},
            "transfer_id",
        ),
        ({"channel_reference": "x" * 129}, "channel_reference"),
        ({"channel_reference": "post:\n1"}, "channel_reference"),
        ({"channel": "twitter"}, "channel_reference"),
        ({"channel_reference": "post:1", "channel": "Not A Channel"}, "channel"),
    ],
)
def test_a_malformed_lookup_is_invalid_argument(client_for, make_token, fields, field):
    from envoi.v1 import transfer_service_pb2

    admin = client_for(make_token("admin"))
    request = transfer_service_pb2.GetTransferRequest(**fields)
    with pytest.raises(errors.InvalidArgument) as raised:
        admin.call(admin.transfers.GetTransfer, request)
    assert field in str(raised.value)
