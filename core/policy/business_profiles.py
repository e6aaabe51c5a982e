"""Business profiles of merchants and associations: legal name and French
registration number (SIREN, 9 digits, or SIRET, 14), verified by an admin.

Only France's numbers are taken: they carry a Luhn check digit, so a typo is
caught. The database checks the same rule (fr_registration_number_valid,
migration 0012); this module says what is wrong, field by field.
"""

from stdnum import luhn

from envoi.client import errors
from envoi.core.api.request_validation import RequestCheck

MAX_LEGAL_NAME_LENGTH = 200
REGISTRATION_COUNTRIES = ("FR",)
LA_POSTE_SIREN = "356000000"
KINDS_WITH_PROFILE = ("MERCHANT", "ASSOCIATION")


def fr_registration_number_problem(number: str) -> str | None:
    """What is wrong with a SIREN or SIRET, or None when it is valid."""
    if not (number.isascii() and number.isdigit() and len(number) in (9, 14)):
        return "a SIREN (9 digits) or a SIRET (14 digits), digits only"
    # stdnum.fr.siret is stricter than the database's check (it also checks the
    # SIREN part, and takes only the digit sum for La Poste): its Luhn alone
    # keeps the API and fr_registration_number_valid agreeing.
    if luhn.is_valid(number):
        return None
    # La Poste's establishments share one SIREN; their SIRETs use a digit sum
    # divisible by 5 instead of the Luhn check.
    if len(number) == 14 and number.startswith(LA_POSTE_SIREN):
        if sum(map(int, number)) % 5 == 0:
            return None
    return "the check digit does not match: a digit is wrong"


def check_profile(check: RequestCheck, field: str, profile) -> None:
    """Field violations of a BusinessProfile message."""
    check.text(
        f"{field}.legal_name", profile.legal_name, max_length=MAX_LEGAL_NAME_LENGTH, required=True
    )
    if profile.registration_country_code not in REGISTRATION_COUNTRIES:
        check.fail(
            f"{field}.registration_country_code",
            f"must be one of: {', '.join(REGISTRATION_COUNTRIES)} (numbers envoi can check)",
        )
    else:
        problem = fr_registration_number_problem(profile.registration_number)
        if problem:
            check.fail(f"{field}.registration_number", problem)


def set_profile(conn, account: dict, profile) -> None:
    """Record the profile of a locked merchant or association account. Verified
    keeps its first verify time while the profile stays the same."""
    if account["kind"] not in KINDS_WITH_PROFILE:
        raise errors.InvalidArgument(
            "only merchants and associations have a business profile",
            field_violations={"account_id": "must be a MERCHANT or ASSOCIATION account"},
        )
    conn.execute(
        "UPDATE accounts SET legal_name = %(name)s, registration_country_code = %(country)s,"
        " registration_number = %(number)s,"
        " profile_verify_time = CASE WHEN %(verified)s THEN"
        "   CASE WHEN (legal_name, registration_country_code, registration_number)"
        "             = (%(name)s, %(country)s, %(number)s)"
        "        THEN coalesce(profile_verify_time, now()) ELSE now() END END"
        " WHERE account_id = %(account_id)s",
        {
            "name": profile.legal_name,
            "country": profile.registration_country_code,
            "number": profile.registration_number,
            "verified": profile.verified,
            "account_id": account["account_id"],
        },
    )
