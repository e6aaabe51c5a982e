"""core/enums.py: each enum and its proto enum name the same values."""

import pytest

from envoi.core import enums


@pytest.mark.parametrize("enum_type", list(enums.PROTO_ENUMS), ids=lambda t: t.__name__)
def test_every_proto_value_has_its_member_and_back(enum_type):
    proto_enum = enums.PROTO_ENUMS[enum_type]
    numbers = [number for number in proto_enum.values() if number]  # not UNSPECIFIED
    assert [enum_type.from_proto(number).proto() for number in numbers] == numbers
    assert len(enum_type) == len(numbers)


def test_a_member_is_its_text_for_sets_dicts_and_formatting():
    assert enums.Role.WALLET in {"wallet"}
    assert {enums.TransferState.COMPLETED: 1}["COMPLETED"] == 1
    assert f"{enums.Role.ADMIN} {enums.TransferState.EXPIRED}" == "admin EXPIRED"
