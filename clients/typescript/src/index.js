// envoi's TypeScript client: the generated services (gen/), a gRPC transport
// that sends the bearer token, and envoiError() to read envoi's typed errors.
// Plain JavaScript with index.d.ts beside it, so Node runs it without a build.
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { AccountService } from "../gen/envoi/v1/account_service_pb.js";
import { ApiKeyService } from "../gen/envoi/v1/api_key_service_pb.js";
import { CollectionService } from "../gen/envoi/v1/collection_service_pb.js";
import { EventService } from "../gen/envoi/v1/event_service_pb.js";
import { FundingService } from "../gen/envoi/v1/funding_service_pb.js";
import { PaymentRequestService } from "../gen/envoi/v1/payment_request_service_pb.js";
import { PayoutService } from "../gen/envoi/v1/payout_service_pb.js";
import { TransferService } from "../gen/envoi/v1/transfer_service_pb.js";
import { WebhookService } from "../gen/envoi/v1/webhook_service_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../gen/google/rpc/error_details_pb.js";

export { Code, ConnectError };
export {
  SIGNATURE_HEADER,
  signWebhook,
  verifyWebhook,
  WebhookSignatureError,
} from "./webhooks.js";

// The domain of every ErrorInfo envoi sends (docs/errors.md).
export const ERROR_DOMAIN = "envoi";

/** An interceptor that sends `authorization: Bearer <token>` on every call. */
export function bearerToken(token) {
  return (next) => async (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/**
 * A gRPC (HTTP/2) transport to envoi. `target` is "host:port" (plaintext, for
 * a server on the same machine) or a URL ("https://envoi.example:50051").
 * A token of undefined sends no authorization header.
 */
export function createEnvoiTransport(target, token, options = {}) {
  const baseUrl = /^[a-z]+:\/\//i.test(target) ? target : `http://${target}`;
  const interceptors = [...(options.interceptors ?? [])];
  if (token !== undefined) {
    interceptors.unshift(bearerToken(token));
  }
  return createGrpcTransport({ ...options, baseUrl, interceptors });
}

/** One typed client per envoi service, sharing one transport (one HTTP/2 connection). */
export function createEnvoiClient(target, token, options = {}) {
  const transport = createEnvoiTransport(target, token, options);
  return {
    transport,
    accounts: createClient(AccountService, transport),
    transfers: createClient(TransferService, transport),
    events: createClient(EventService, transport),
    funding: createClient(FundingService, transport),
    payouts: createClient(PayoutService, transport),
    collections: createClient(CollectionService, transport),
    paymentRequests: createClient(PaymentRequestService, transport),
    apiKeys: createClient(ApiKeyService, transport),
    webhooks: createClient(WebhookService, transport),
  };
}

/**
 * What envoi says about a failed call: its gRPC `code`, the ErrorInfo's
 * `reason` and `metadata` (docs/errors.md), and the BadRequest's field
 * violations as field path -> description. `reason` is undefined when the
 * status did not come from envoi (the server could not be reached, a deadline
 * passed): then decide on `code`.
 */
export function envoiError(error) {
  const connectError = ConnectError.from(error);
  const info = connectError
    .findDetails(ErrorInfoSchema)
    .find((detail) => detail.domain === ERROR_DOMAIN);
  const fieldViolations = {};
  for (const badRequest of connectError.findDetails(BadRequestSchema)) {
    for (const violation of badRequest.fieldViolations) {
      fieldViolations[violation.field] = violation.description;
    }
  }
  return {
    code: connectError.code,
    reason: info?.reason,
    metadata: { ...(info?.metadata ?? {}) },
    fieldViolations,
    message: connectError.rawMessage,
  };
}
