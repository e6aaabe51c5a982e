// The README's examples, type-checked by `npm run typecheck`
// (tests/test_typescript_client.py runs it): keep the two the same.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Code, createEnvoiClient, envoiError } from "@envoi/client";
import { EventType } from "@envoi/client/v1/event";
import { TransferDirection } from "@envoi/client/v1/transfer_service";
import { TransferState } from "@envoi/client/v1/transfer";

declare const SHOP: string;
declare const SUPPLIER: string;
declare const SHOP_CODE: string;
declare const TOKEN: string;
declare function loadCursor(): string;
declare function saveCursor(cursor: string): void;

const envoi = createEnvoiClient("localhost:50051", process.env.ENVOI_TOKEN);

export async function quickStart() {
  // Money is an integer number of cents, a bigint: 10.50 EUR is 1050n.
  const { balance } = await envoi.accounts.getBalance({ accountId: SHOP }, { timeoutMs: 10_000 });
  console.log(`${balance?.available?.amountCents} cents available`);

  // Pay a supplier: initiate, then confirm with your account's 6-digit code.
  const { transfer } = await envoi.transfers.initiateTransfer({
    requestId: "invoice-42", // keep it: a retry with it never pays twice
    fromAccountId: SHOP,
    toAccountId: SUPPLIER,
    amount: { currencyCode: "EUR", amountCents: 1050n },
    memo: "invoice 42",
  });
  if (transfer?.state === TransferState.PENDING_CONFIRMATION) {
    await envoi.transfers.confirmTransfer({
      requestId: randomUUID(),
      transferId: transfer.transferId,
      code: SHOP_CODE,
    });
  }

  const incoming = await envoi.transfers.listTransfers({
    accountId: SHOP,
    direction: TransferDirection.INCOMING,
  });
  return incoming.transfers.map((paid) => paid.amount?.amountCents ?? 0n);
}

type PaymentRequest = Parameters<typeof envoi.transfers.initiateTransfer>[0];

export async function errors(request: PaymentRequest) {
  try {
    await envoi.transfers.initiateTransfer(request);
  } catch (error) {
    const { code, reason, metadata, fieldViolations } = envoiError(error);
    switch (reason) {
      case "INSUFFICIENT_FUNDS":
        // wait for money in; the same requestId may then be retried
        break;
      case "LIMIT_EXCEEDED":
        console.log(`over the ${metadata.limit} limit of ${metadata.limit_cents} cents`);
        break;
      case "INVALID_CODE":
        console.log(`${metadata.attempts_left} attempts left`); // confirm again with a NEW requestId
        break;
      case "INVALID_ARGUMENT":
        console.log(fieldViolations); // { "amount.amount_cents": "must be positive" }
        break;
      case undefined:
        // envoi did not answer (no server, a deadline): decide on code,
        // e.g. Code.Unavailable -> retry with the same requestId
        if (code !== Code.Unavailable) throw error;
        break;
      default:
        throw error;
    }
  }
}

export async function events() {
  const stop = new AbortController();
  let lastEventId = loadCursor(); // "" the first time
  for await (const { event } of envoi.events.watchEvents(
    { accountId: SHOP, afterCursor: lastEventId },
    { signal: stop.signal },
  )) {
    if (event?.type === EventType.TRANSFER_COMPLETED) {
      const paid = event.transfer;
      console.log(`${paid?.fromDisplayName} paid ${paid?.amount?.amountCents} cents`);
    }
    lastEventId = event?.eventId ?? lastEventId;
    saveCursor(lastEventId);
  }
}

export function overTls() {
  return createEnvoiClient("https://envoi.internal:50051", TOKEN, {
    nodeOptions: {
      ca: readFileSync("ca.pem"),
      cert: readFileSync("client.pem"), // mutual TLS only
      key: readFileSync("client-key.pem"), // mutual TLS only
    },
  });
}
