"""Business profiles: an admin records and verifies who a merchant or an
association is (legal name, SIREN or SIRET); only verified ones are paid."""

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envoi.client import errors
from envoi.core.policy import business_profiles
from envoi.core.testing import TEST_SIREN
from envoi.v1 import transfer_pb2

CODE = "123456"
VALID_NUMBERS = [
    "732829320",  # SIREN
    "552032534",
    "55203253400646",  # SIRET: SIREN + establishment number, Luhn over all 14 digits
    "000000000",  # the Luhn sum of zeros is 0
    "35600000000048",  # La Poste (SIREN 356000000), passes Luhn
    "35600000049837",  # La Poste: fails Luhn, digit sum 55 is divisible by 5
]
INVALID_NUMBERS = [
    "732829321",  # one digit off
    "732829302",  # two digits swapped
    "55203253400647",
    "35600000049838",  # La Poste, neither rule
    "12345678",  # too short
    "1234567890",  # neither 9 nor 14 digits
    "73282932O",  # a letter O
    "732 829 320",  # spaces are not taken: send digits only
    "٧٣٢٨٢٩٣٢٠",  # Arabic-Indic digits
    "",
]


def account_row(db, account_id) -> tuple:
    return db.execute(
        "SELECT a::text FROM accounts a WHERE account_id = %s", (account_id,)
    ).fetchone()


@pytest.mark.parametrize("number", VALID_NUMBERS + INVALID_NUMBERS)
def test_python_and_the_database_agree_on_registration_numbers(db, number):
    valid = business_profiles.fr_registration_number_problem(number) is None
    assert valid == (number in VALID_NUMBERS)
    assert db.execute("SELECT fr_registration_number_valid(%s)", (number,)).fetchone()[0] == valid


def digits(length: int):
    return st.text("0123456789", min_size=length, max_size=length)


# A SIRET whose SIREN part fails Luhn, or a La Poste one passing Luhn but not
# the digit sum: stdnum.fr.siret would refuse what the database takes.
@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(digits(9) | digits(14) | digits(5).map(business_profiles.LA_POSTE_SIREN.__add__))
def test_python_and_the_database_agree_on_any_number(db, number):
    valid = business_profiles.fr_registration_number_problem(number) is None
    assert db.execute("SELECT fr_registration_number_valid(%s)", (number,)).fetchone()[0] == valid


@pytest.mark.parametrize("kind", ["MERCHANT", "ASSOCIATION"])
def test_an_admin_records_and_verifies_a_profile(kind, open_account, admin, wallet):
    account_id = open_account(kind, verified=False)
    assert not admin.get_account(account_id).HasField("business_profile")

    recorded = admin.set_business_profile(
        account_id, "Boulangerie Martin SARL", "55203253400646", verified=False
    )
    profile = recorded.business_profile
    assert (profile.legal_name, profile.registration_country_code) == (
        "Boulangerie Martin SARL",
        "FR",
    )
    assert profile.registration_number == "55203253400646"
    assert not profile.verified and not profile.HasField("verify_time")

    verified = admin.set_business_profile(account_id, "Boulangerie Martin SARL", "55203253400646")
    assert verified.business_profile.verified
    first_verify_time = verified.business_profile.verify_time
    # The same profile again keeps its verify time; another number is verified anew.
    again = admin.set_business_profile(account_id, "Boulangerie Martin SARL", "55203253400646")
    assert again.business_profile.verify_time == first_verify_time
    moved = admin.set_business_profile(account_id, "Boulangerie Martin SARL", "552032534")
    assert moved.business_profile.verify_time.ToDatetime() >= first_verify_time.ToDatetime()
    assert moved.business_profile.registration_number == "552032534"
    # Whoever reads the account sees who it is.
    assert wallet.get_account(account_id).business_profile == moved.business_profile


def test_a_merchant_reads_its_own_profile(open_account, admin, make_token, client_for):
    merchant_id = open_account("MERCHANT")
    merchant = client_for(make_token("merchant", merchant_account_id=merchant_id))
    profile = merchant.get_account(merchant_id).business_profile
    assert (profile.registration_number, profile.verified) == (TEST_SIREN, True)
    with pytest.raises(errors.PermissionDenied):
        merchant.set_business_profile(merchant_id, "Self Made SAS", TEST_SIREN)


@pytest.mark.parametrize("number", INVALID_NUMBERS)
def test_an_invalid_registration_number_is_refused_and_changes_nothing(
    number, open_account, admin, db
):
    account_id = open_account("MERCHANT")
    before = account_row(db, account_id)
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_business_profile(account_id, "Typo SAS", number)
    assert set(refused.value.field_violations) == {"business_profile.registration_number"}
    assert account_row(db, account_id) == before


def test_other_profile_fields_are_checked(open_account, admin, db):
    account_id = open_account("ASSOCIATION")
    before = account_row(db, account_id)
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_business_profile(account_id, "", "123456789", registration_country_code="DE")
    assert set(refused.value.field_violations) == {
        "business_profile.legal_name",
        "business_profile.registration_country_code",
    }
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_business_profile(account_id, "x" * 201, TEST_SIREN)
    assert set(refused.value.field_violations) == {"business_profile.legal_name"}
    assert account_row(db, account_id) == before


def test_people_have_no_business_profile(open_account, admin, db):
    person = open_account()
    before = account_row(db, person)
    with pytest.raises(errors.InvalidArgument) as refused:
        admin.set_business_profile(person, "Not A Company", TEST_SIREN)
    assert set(refused.value.field_violations) == {"account_id"}
    assert account_row(db, person) == before


def test_the_database_refuses_a_bad_profile(database_url, open_account):
    merchant_id, person = open_account("MERCHANT"), open_account()
    update = (
        "UPDATE accounts SET legal_name = 'X', registration_country_code = %s,"
        " registration_number = %s WHERE account_id = %s"
    )
    with psycopg.connect(database_url) as conn:
        for params, constraint in (
            (("FR", "732829321", merchant_id), "business_profile_registration_valid"),
            (("DE", TEST_SIREN, merchant_id), "business_profile_registration_valid"),
            (("FR", TEST_SIREN, person), "business_profile_of_organisations"),
        ):
            with pytest.raises(psycopg.errors.CheckViolation, match=constraint):
                conn.execute(update, params)
            conn.rollback()


@pytest.mark.parametrize("kind", ["MERCHANT", "ASSOCIATION"])
def test_an_unverified_recipient_is_not_paid(kind, open_account, admin, wallet, db):
    payee = open_account(kind, verified=False)
    payer = open_account(balance_cents=1_000, code=CODE)
    before = db.execute("SELECT count(*) FROM transfers").fetchone()[0]
    with pytest.raises(errors.RecipientNotVerified) as refused:
        wallet.initiate_transfer(payer, payee, 500)
    assert refused.value.metadata == {"account_id": payee}
    # A recorded but unverified profile is not enough either.
    admin.set_business_profile(payee, "Pending Papers SAS", TEST_SIREN, verified=False)
    with pytest.raises(errors.RecipientNotVerified):
        wallet.initiate_transfer(payer, payee, 500)
    assert db.execute("SELECT count(*) FROM transfers").fetchone()[0] == before
    assert wallet.get_balance(payer).available.amount_cents == 1_000

    admin.set_business_profile(payee, "Pending Papers SAS", TEST_SIREN)
    pending = wallet.initiate_transfer(payer, payee, 500)
    # Verification withdrawn before the payer confirms: the payment waits.
    admin.set_business_profile(payee, "Pending Papers SAS", TEST_SIREN, verified=False)
    with pytest.raises(errors.RecipientNotVerified):
        wallet.confirm_transfer(pending.transfer_id, CODE)
    assert (
        wallet.get_transfer(pending.transfer_id).state
        == transfer_pb2.TRANSFER_STATE_PENDING_CONFIRMATION
    )
    assert wallet.get_balance(payer).held.amount_cents == 500
    admin.set_business_profile(payee, "Pending Papers SAS", TEST_SIREN)
    done = wallet.confirm_transfer(pending.transfer_id, CODE)
    assert done.state == transfer_pb2.TRANSFER_STATE_COMPLETED
