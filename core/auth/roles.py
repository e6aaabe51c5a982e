"""Which roles may call which RPC: the one table the auth interceptor enforces.

Finer rules (a merchant touches only its own account, a channel reads only
the transfers it started, a wallet opens only PERSON accounts) are checked by
the services. docs/roles.md is this table in prose.
"""

ALLOWED_ROLES_BY_METHOD = {
    "/envoi.v1.AccountService/OpenAccount": {"wallet", "admin"},
    "/envoi.v1.AccountService/GetAccount": {"wallet", "merchant", "admin"},
    "/envoi.v1.AccountService/GetBalance": {"wallet", "merchant", "admin"},
    # The current code is needed, whoever calls. Not a merchant key: one that
    # leaked must not be able to set the code its Withdraw asks for.
    "/envoi.v1.AccountService/ChangeCode": {"wallet"},
    # A forgotten or locked code: set by an admin, with a hold on money out.
    "/envoi.v1.AccountService/ResetCode": {"admin"},
    "/envoi.v1.AccountService/CreditAccount": {"admin"},
    "/envoi.v1.AccountService/LinkIdentity": {"wallet", "admin"},
    "/envoi.v1.AccountService/UnlinkIdentity": {"wallet", "admin"},
    "/envoi.v1.AccountService/ResolveIdentity": {"channel", "wallet", "admin"},
    "/envoi.v1.AccountService/SetAccountTier": {"admin"},
    "/envoi.v1.AccountService/SetNotificationPreference": {"wallet", "merchant"},
    "/envoi.v1.AccountService/SetBusinessProfile": {"admin"},
    "/envoi.v1.AccountService/SetMerchantFees": {"admin"},
    "/envoi.v1.AccountService/SetDebitMandate": {"admin"},
    "/envoi.v1.TransferService/InitiateTransfer": {"channel", "wallet", "merchant"},
    "/envoi.v1.TransferService/ConfirmTransfer": {"wallet", "merchant"},
    "/envoi.v1.TransferService/CancelTransfer": {"wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/GetTransfer": {"channel", "wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/ListTransfers": {"wallet", "merchant", "admin"},
    "/envoi.v1.TransferService/ListPendingConfirmations": {"wallet", "merchant"},
    "/envoi.v1.TransferService/CreateTransfers": {"admin", "ledger"},
    "/envoi.v1.EventService/ListEvents": {"channel", "admin"},
    "/envoi.v1.EventService/WatchEvents": {"wallet", "merchant", "admin"},
    "/envoi.v1.FundingService/TopUp": {"wallet"},
    "/envoi.v1.FundingService/GetTopUp": {"wallet", "admin"},
    # The provider's signature, not the token, is what makes a callback believed.
    "/envoi.v1.FundingService/CompleteTopUp": {"wallet", "admin"},
    "/envoi.v1.PayoutService/Withdraw": {"wallet", "merchant"},
    "/envoi.v1.PayoutService/GetPayout": {"wallet", "merchant", "admin"},
    "/envoi.v1.PayoutService/CompletePayout": {"wallet", "admin"},
    "/envoi.v1.PaymentRequestService/RequestPayment": {"merchant"},
    # An admin creates a merchant's first key; the merchant manages its own after.
    "/envoi.v1.ApiKeyService/CreateApiKey": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/ListApiKeys": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/RotateApiKey": {"merchant", "admin"},
    "/envoi.v1.ApiKeyService/RevokeApiKey": {"merchant", "admin"},
    # An owner's credentials: the wallet for people and associations, admins
    # for anyone. No merchant owns a collection: its payments bear its fee.
    "/envoi.v1.CollectionService/CreateCollection": {"wallet", "admin"},
    # Public: whoever is asked to pay into a collection may read it.
    "/envoi.v1.CollectionService/GetCollection": {"channel", "wallet", "merchant", "admin"},
    "/envoi.v1.CollectionService/CloseCollection": {"wallet", "admin"},
    "/envoi.v1.CollectionService/CancelCollection": {"wallet", "admin"},
    "/envoi.v1.CollectionService/ListCollections": {"wallet", "admin"},
}

# Open to anyone: health checks and server reflection (grpcurl list/describe).
PUBLIC_SERVICE_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
