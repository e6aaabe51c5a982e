// The README's quick start, type-checked by `npm run typecheck`
// (tests/test_typescript_client.py runs it). A merchant takes a payment from
// its own account, reads envoi's errors, and follows its account's events.
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, createEnvoiClient, envoiError } from "@envoi/client";
import { EventType } from "@envoi/client/v1/event";
import { MoneySchema } from "@envoi/client/v1/money";
import { TransferState } from "@envoi/client/v1/transfer";

export async function quickstart(merchantToken: string, shop: string, supplier: string) {
  const envoi = createEnvoiClient("localhost:50051", merchantToken);

  // int64 fields are bigint: 10.50 EUR is 1050n cents, never a float.
  const { balance } = await envoi.accounts.getBalance({ accountId: shop });
  const available: bigint = balance?.available?.amountCents ?? 0n;
  console.log(`available: ${available} cents`);

  try {
    const { transfer } = await envoi.transfers.initiateTransfer({
      requestId: randomUUID(), // keep it to retry the same payment safely
      fromAccountId: shop,
      toAccountId: supplier,
      amount: create(MoneySchema, { currencyCode: "EUR", amountCents: 1050n }),
      memo: "invoice 42",
    });
    if (transfer && transfer.state === TransferState.PENDING_CONFIRMATION) {
      await envoi.transfers.confirmTransfer({
        requestId: randomUUID(),
        transferId: transfer.transferId,
        code: "123456", // the merchant's 6-digit code
      });
    }
  } catch (error) {
    const { code, reason, metadata, fieldViolations } = envoiError(error);
    if (reason === "INSUFFICIENT_FUNDS") {
      console.log("top up first");
    } else if (reason === "LIMIT_EXCEEDED") {
      console.log(`over the ${metadata.limit} limit of ${metadata.limit_cents} cents`);
    } else if (code === Code.InvalidArgument) {
      console.log("fix these fields:", fieldViolations);
    } else {
      throw error;
    }
  }

  // The account's events, oldest first, then live; abort to stop.
  const stop = new AbortController();
  for await (const { event } of envoi.events.watchEvents({ accountId: shop }, { signal: stop.signal })) {
    if (event && event.type === EventType.TRANSFER_COMPLETED) {
      console.log(`completed: ${event.transfer?.transferId}`);
    }
  }
}
