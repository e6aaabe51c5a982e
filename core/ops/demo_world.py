"""The demo's people: alice (with money), bob, and a charity (a verified
association with an open collection), each an envoi account linked to the X
identity of the same name on the emulator. Their codes are printed: demo only."""

from envoi.client import EnvoiClient
from envoi.v1 import identity_pb2

# A SIREN whose Luhn check digit is valid (an association's must be).
DEMO_SIREN = "732829320"
ALICE_CREDIT_CENTS = 50_00
BOB_CREDIT_CENTS = 20_00
COLLECTION_HASHTAG = "repas"
COLLECTION_TARGET_CENTS = 500_00
PEOPLE = {
    # X username: (kind, display name, code)
    "alice": ("PERSON", "Alice", "111111"),
    "bob": ("PERSON", "Bob", "222222"),
    "charity": ("ASSOCIATION", "La Cantine Solidaire", "333333"),
}


def populate(admin: EnvoiClient, x_users: dict[str, dict]) -> dict[str, dict]:
    """Open and link the accounts; return, per username, what the demo prints."""
    people = {}
    for username, (kind, display_name, code) in PEOPLE.items():
        account = admin.open_account(kind, display_name, code)
        x_user = x_users[username]
        admin.link_identity(
            account.account_id,
            identity_pb2.Identity(
                namespace="twitter", subject_id=x_user["id"], handle=x_user["username"]
            ),
        )
        people[username] = {
            "account_id": account.account_id,
            "kind": kind,
            "display_name": display_name,
            "code": code,
            "x_user_id": x_user["id"],
        }
    admin.credit_account(people["alice"]["account_id"], ALICE_CREDIT_CENTS, memo="demo")
    admin.credit_account(people["bob"]["account_id"], BOB_CREDIT_CENTS, memo="demo")
    charity = people["charity"]["account_id"]
    admin.set_business_profile(charity, PEOPLE["charity"][1], DEMO_SIREN)
    collection = admin.create_collection(
        charity, "Des repas pour tous", COLLECTION_HASHTAG, target_cents=COLLECTION_TARGET_CENTS
    )
    people["charity"]["collection_id"] = collection.collection_id
    people["charity"]["collection_hashtag"] = COLLECTION_HASHTAG
    return people
