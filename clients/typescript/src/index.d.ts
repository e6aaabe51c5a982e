// Types of index.js (hand-written: index.js runs in Node without a build).
import type { Client, Interceptor, Transport } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import type { GrpcTransportOptions } from "@connectrpc/connect-node";
import type { AccountService } from "../gen/envoi/v1/account_service_pb.js";
import type { ApiKeyService } from "../gen/envoi/v1/api_key_service_pb.js";
import type { CollectionService } from "../gen/envoi/v1/collection_service_pb.js";
import type { EventService } from "../gen/envoi/v1/event_service_pb.js";
import type { FundingService } from "../gen/envoi/v1/funding_service_pb.js";
import type { PaymentRequestService } from "../gen/envoi/v1/payment_request_service_pb.js";
import type { PayoutService } from "../gen/envoi/v1/payout_service_pb.js";
import type { TransferService } from "../gen/envoi/v1/transfer_service_pb.js";
import type { WebhookService } from "../gen/envoi/v1/webhook_service_pb.js";

export { Code, ConnectError };

export declare const ERROR_DOMAIN: "envoi";

/** Options of createGrpcTransport (TLS: nodeOptions), less the ones derived from target. */
export type EnvoiTransportOptions = Partial<Omit<GrpcTransportOptions, "baseUrl">>;

export interface EnvoiClient {
  transport: Transport;
  accounts: Client<typeof AccountService>;
  transfers: Client<typeof TransferService>;
  events: Client<typeof EventService>;
  funding: Client<typeof FundingService>;
  payouts: Client<typeof PayoutService>;
  collections: Client<typeof CollectionService>;
  paymentRequests: Client<typeof PaymentRequestService>;
  apiKeys: Client<typeof ApiKeyService>;
  webhooks: Client<typeof WebhookService>;
}

export interface EnvoiError {
  code: Code;
  /** The ErrorInfo reason (INSUFFICIENT_FUNDS, ...); undefined when envoi did not answer. */
  reason: string | undefined;
  metadata: Record<string, string>;
  /** Field path (amount.amount_cents, ...) -> what is wrong with it. */
  fieldViolations: Record<string, string>;
  message: string;
}

export declare function bearerToken(token: string): Interceptor;

export declare function createEnvoiTransport(
  target: string,
  token: string | undefined,
  options?: EnvoiTransportOptions,
): Transport;

export declare function createEnvoiClient(
  target: string,
  token: string | undefined,
  options?: EnvoiTransportOptions,
): EnvoiClient;

export declare function envoiError(error: unknown): EnvoiError;

export declare const SIGNATURE_HEADER: "Envoi-Signature";

/** The delivery is not envoi's, or too old (a replay): answer 400 and drop it. */
export declare class WebhookSignatureError extends Error {}

/** The v1 signature of a body at a time: hex HMAC-SHA256 of "<t>.<body>". */
export declare function signWebhook(
  body: Uint8Array | string,
  secret: string,
  timestampS: number,
): string;

/**
 * Throws WebhookSignatureError unless `header` (the Envoi-Signature value)
 * signs the raw `body` under `secret`, within toleranceS (300) of now.
 */
export declare function verifyWebhook(
  body: Uint8Array | string,
  header: string | undefined,
  secret: string,
  toleranceS?: number,
  nowS?: number,
): void;
