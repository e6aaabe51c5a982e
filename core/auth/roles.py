"""Which roles may call which RPC: the one table the auth interceptor enforces.

Finer rules (a merchant touches only its own account, a channel reads only
the transfers it started, a wallet opens only PERSON accounts) are checked by
the services. docs/roles.md is this table in prose.
"""

from envoi.core.enums import Role

ALLOWED_ROLES_BY_METHOD = {
    "/envoi.v1.AccountService/OpenAccount": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.AccountService/GetAccount": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.AccountService/GetBalance": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    # The current code is needed, whoever calls. Not a merchant key: one that
    # leaked must not be able to set the code its Withdraw asks for.
    "/envoi.v1.AccountService/ChangeCode": {Role.WALLET},
    # A forgotten or locked code: set by an admin, with a hold on money out.
    "/envoi.v1.AccountService/ResetCode": {Role.ADMIN},
    "/envoi.v1.AccountService/CreditAccount": {Role.ADMIN},
    "/envoi.v1.AccountService/LinkIdentity": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.AccountService/UnlinkIdentity": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.AccountService/ResolveIdentity": {Role.CHANNEL, Role.WALLET, Role.ADMIN},
    "/envoi.v1.AccountService/SetAccountTier": {Role.ADMIN},
    "/envoi.v1.AccountService/SetNotificationPreference": {Role.WALLET, Role.MERCHANT},
    "/envoi.v1.AccountService/SetBusinessProfile": {Role.ADMIN},
    "/envoi.v1.AccountService/SetMerchantFees": {Role.ADMIN},
    "/envoi.v1.AccountService/SetDebitMandate": {Role.ADMIN},
    # Like GetBalance: a merchant its own account, the wallet people's and associations'.
    "/envoi.v1.AccountService/ListStatement": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    # A freeze stops money out; an admin's, with a reason, recorded.
    "/envoi.v1.AccountService/FreezeAccount": {Role.ADMIN},
    "/envoi.v1.AccountService/UnfreezeAccount": {Role.ADMIN},
    # The owner with its code (the wallet, for people and associations), or an
    # admin with a reason (a merchant asks envoi: a leaked key closes nothing).
    "/envoi.v1.AccountService/CloseAccount": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.TransferService/InitiateTransfer": {Role.CHANNEL, Role.WALLET, Role.MERCHANT},
    "/envoi.v1.TransferService/ConfirmTransfer": {Role.WALLET, Role.MERCHANT},
    "/envoi.v1.TransferService/CancelTransfer": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.TransferService/GetTransfer": {Role.CHANNEL, Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.TransferService/ListTransfers": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.TransferService/ListPendingConfirmations": {Role.WALLET, Role.MERCHANT},
    "/envoi.v1.TransferService/CreateTransfers": {Role.ADMIN, Role.LEDGER},
    # A merchant's key of the refunds scope, or the wallet with an association's code.
    "/envoi.v1.TransferService/RefundTransfer": {Role.MERCHANT, Role.WALLET},
    "/envoi.v1.EventService/ListEvents": {Role.CHANNEL, Role.ADMIN},
    "/envoi.v1.EventService/WatchEvents": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.FundingService/TopUp": {Role.WALLET},
    "/envoi.v1.FundingService/GetTopUp": {Role.WALLET, Role.ADMIN},
    # The provider's signature, not the token, is what makes a callback believed.
    "/envoi.v1.FundingService/CompleteTopUp": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.PayoutService/Withdraw": {Role.WALLET, Role.MERCHANT},
    "/envoi.v1.PayoutService/GetPayout": {Role.WALLET, Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.PayoutService/CompletePayout": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.PaymentRequestService/RequestPayment": {Role.MERCHANT},
    # The wallet for its person; a channel for the author of a `#demander` post.
    # A request moves nothing: only the payer's code pays it.
    "/envoi.v1.PaymentRequestService/RequestMoney": {Role.WALLET, Role.CHANNEL},
    # An admin creates a merchant's first key; the merchant manages its own after.
    "/envoi.v1.ApiKeyService/CreateApiKey": {Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.ApiKeyService/ListApiKeys": {Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.ApiKeyService/RotateApiKey": {Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.ApiKeyService/RevokeApiKey": {Role.MERCHANT, Role.ADMIN},
    # An owner's credentials: the wallet for people and associations, admins
    # for anyone. No merchant owns a collection: its payments bear its fee.
    "/envoi.v1.CollectionService/CreateCollection": {Role.WALLET, Role.ADMIN},
    # Public: whoever is asked to pay into a collection may read it.
    "/envoi.v1.CollectionService/GetCollection": {
        Role.CHANNEL,
        Role.WALLET,
        Role.MERCHANT,
        Role.ADMIN,
    },
    "/envoi.v1.CollectionService/CloseCollection": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.CollectionService/CancelCollection": {Role.WALLET, Role.ADMIN},
    "/envoi.v1.CollectionService/ListCollections": {Role.WALLET, Role.ADMIN},
    # A merchant's own endpoints; an admin reads anyone's (support), changes none.
    "/envoi.v1.WebhookService/CreateWebhookEndpoint": {Role.MERCHANT},
    "/envoi.v1.WebhookService/ListWebhookEndpoints": {Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.WebhookService/DeleteWebhookEndpoint": {Role.MERCHANT},
    "/envoi.v1.WebhookService/RotateWebhookSecret": {Role.MERCHANT},
    "/envoi.v1.WebhookService/ListWebhookDeliveries": {Role.MERCHANT, Role.ADMIN},
    "/envoi.v1.WebhookService/Redeliver": {Role.MERCHANT},
}

# Open to anyone: health checks and server reflection (grpcurl list/describe).
PUBLIC_SERVICE_PREFIXES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)
