// The TypeScript client against a real envoi server. tests/test_typescript_client.py
// starts `envoi serve`, opens a merchant account, makes the tokens and runs
// this file with: ENVOI_TARGET (host:port), ENVOI_WALLET_TOKEN,
// ENVOI_ADMIN_TOKEN, ENVOI_MERCHANT_TOKEN, ENVOI_MERCHANT_ACCOUNT_ID and
// ENVOI_MERCHANT_CODE (the merchant account's 6-digit code).
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { test } from "node:test";
import {
  Code,
  createEnvoiClient,
  envoiError,
  signWebhook,
  verifyWebhook,
  WebhookSignatureError,
} from "@envoi/client";
import { AccountKind } from "@envoi/client/v1/account";
import { EventType } from "@envoi/client/v1/event";
import { TransferState } from "@envoi/client/v1/transfer";

function setting(name) {
  const value = process.env[name];
  assert.ok(value, `${name} must be set (tests/test_typescript_client.py sets it)`);
  return value;
}

const target = setting("ENVOI_TARGET");
const wallet = createEnvoiClient(target, setting("ENVOI_WALLET_TOKEN"));
const admin = createEnvoiClient(target, setting("ENVOI_ADMIN_TOKEN"));
const merchant = createEnvoiClient(target, setting("ENVOI_MERCHANT_TOKEN"));
const shop = setting("ENVOI_MERCHANT_ACCOUNT_ID");
const shopCode = setting("ENVOI_MERCHANT_CODE");

const ALICE_CODE = "123456";
// A plain object is enough for a message field: the client builds the Money.
const eur = (amountCents) => ({ currencyCode: "EUR", amountCents });

async function openPerson(displayName, code) {
  const { account } = await wallet.accounts.openAccount({
    requestId: randomUUID(),
    kind: AccountKind.PERSON,
    displayName,
    code,
  });
  return account.accountId;
}

async function balance(accountId, client = wallet) {
  const { balance } = await client.accounts.getBalance({ accountId });
  return {
    balance: balance.balance.amountCents,
    held: balance.held.amountCents,
    available: balance.available.amountCents,
  };
}

/** The call's rejection, read by envoiError(); fails if the call succeeds. */
async function failure(call) {
  try {
    await call;
  } catch (error) {
    return envoiError(error);
  }
  assert.fail("the call succeeded; an error was expected");
}

async function pay(from, to, amountCents, client = wallet) {
  const { transfer } = await client.transfers.initiateTransfer({
    requestId: randomUUID(),
    fromAccountId: from,
    toAccountId: to,
    amount: eur(amountCents),
    memo: "pizza",
  });
  return transfer;
}

test("a payment: open, credit, initiate, confirm, balances in integer cents", async () => {
  const alice = await openPerson("Alice", ALICE_CODE);
  const bob = await openPerson("Bob", "654321");
  await admin.accounts.creditAccount({
    requestId: randomUUID(),
    accountId: alice,
    amount: eur(5000n),
  });

  const initiate = {
    requestId: randomUUID(),
    fromAccountId: alice,
    toAccountId: bob,
    amount: eur(1050n),
    memo: "pizza",
  };
  const { transfer: pending } = await wallet.transfers.initiateTransfer(initiate);
  assert.equal(pending.state, TransferState.PENDING_CONFIRMATION);
  // A retry with the same requestId gets the same transfer, and holds nothing more.
  const { transfer: retried } = await wallet.transfers.initiateTransfer(initiate);
  assert.equal(retried.transferId, pending.transferId);
  assert.deepEqual(await balance(alice), { balance: 5000n, held: 1050n, available: 3950n });

  const { transfer } = await wallet.transfers.confirmTransfer({
    requestId: randomUUID(),
    transferId: pending.transferId,
    code: ALICE_CODE,
  });
  assert.equal(transfer.state, TransferState.COMPLETED);
  assert.equal(typeof transfer.amount.amountCents, "bigint");
  assert.deepEqual(await balance(alice), { balance: 3950n, held: 0n, available: 3950n });
  assert.deepEqual(await balance(bob), { balance: 1050n, held: 0n, available: 1050n });
});

test("WatchEvents streams the transfer's events as they happen", async () => {
  const alice = await openPerson("Alice", ALICE_CODE);
  const bob = await openPerson("Bob", "654321");
  await admin.accounts.creditAccount({ requestId: randomUUID(), accountId: alice, amount: eur(800n) });

  const stop = new AbortController();
  const stream = wallet.events.watchEvents({ accountId: bob }, { signal: stop.signal });
  const seen = [];
  const watching = (async () => {
    try {
      for await (const { event } of stream) {
        seen.push([event.type, event.transfer?.transferId, event.transfer?.amount?.amountCents]);
        if (event.type === EventType.TRANSFER_COMPLETED) {
          stop.abort();
        }
      }
    } catch (error) {
      if (!stop.signal.aborted) throw error;
    }
  })();

  const pending = await pay(alice, bob, 300n);
  await wallet.transfers.confirmTransfer({
    requestId: randomUUID(),
    transferId: pending.transferId,
    code: ALICE_CODE,
  });
  await watching;
  assert.deepEqual(seen, [
    [EventType.CONFIRMATION_REQUIRED, pending.transferId, 300n],
    [EventType.TRANSFER_COMPLETED, pending.transferId, 300n],
  ]);
});

test("typed errors: the reason and metadata from ErrorInfo, the fields from BadRequest", async () => {
  const alice = await openPerson("Alice", ALICE_CODE);
  const bob = await openPerson("Bob", "654321");
  await admin.accounts.creditAccount({ requestId: randomUUID(), accountId: alice, amount: eur(1000n) });

  const poor = await failure(pay(alice, bob, 1001n));
  assert.equal(poor.code, Code.FailedPrecondition);
  assert.equal(poor.reason, "INSUFFICIENT_FUNDS");
  assert.deepEqual(poor.metadata, {});

  const pending = await pay(alice, bob, 100n);
  const wrong = await failure(
    wallet.transfers.confirmTransfer({
      requestId: randomUUID(),
      transferId: pending.transferId,
      code: "000000",
    }),
  );
  assert.equal(wrong.code, Code.FailedPrecondition);
  assert.equal(wrong.reason, "INVALID_CODE");
  assert.deepEqual(wrong.metadata, { attempts_left: "2" });

  const invalid = await failure(pay(alice, bob, 0n));
  assert.equal(invalid.code, Code.InvalidArgument);
  assert.equal(invalid.reason, "INVALID_ARGUMENT");
  assert.deepEqual(Object.keys(invalid.fieldViolations), ["amount.amount_cents"]);

  // Nothing moved: only the pending 100 is held.
  assert.deepEqual(await balance(alice), { balance: 1000n, held: 100n, available: 900n });
});

test("no token: UNAUTHENTICATED", async () => {
  const anonymous = createEnvoiClient(target, undefined);
  const refused = await failure(anonymous.accounts.getBalance({ accountId: randomUUID() }));
  assert.equal(refused.code, Code.Unauthenticated);
  assert.equal(refused.reason, "UNAUTHENTICATED");
});

test("a merchant is paid, pays with its own code, and its token reaches only its account", async () => {
  const alice = await openPerson("Alice", ALICE_CODE);
  await admin.accounts.creditAccount({ requestId: randomUUID(), accountId: alice, amount: eur(2000n) });
  const payment = await pay(alice, shop, 1200n);
  await wallet.transfers.confirmTransfer({
    requestId: randomUUID(),
    transferId: payment.transferId,
    code: ALICE_CODE,
  });
  assert.deepEqual(await balance(shop, merchant), { balance: 1200n, held: 0n, available: 1200n });

  const refund = await pay(shop, alice, 200n, merchant);
  await merchant.transfers.confirmTransfer({
    requestId: randomUUID(),
    transferId: refund.transferId,
    code: shopCode,
  });
  assert.deepEqual(await balance(shop, merchant), { balance: 1000n, held: 0n, available: 1000n });
  assert.deepEqual(await balance(alice), { balance: 1000n, held: 0n, available: 1000n });

  // The account's history, oldest first: the payment in, then the refund out.
  const stop = new AbortController();
  const completed = [];
  try {
    for await (const { event } of merchant.events.watchEvents({ accountId: shop }, { signal: stop.signal })) {
      if (event.type === EventType.TRANSFER_COMPLETED) {
        completed.push([event.transfer.fromAccountId, event.transfer.amount.amountCents]);
      }
      if (completed.length === 2) stop.abort();
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  }
  assert.deepEqual(completed, [
    [alice, 1200n],
    [shop, 200n],
  ]);

  const denied = await failure(balance(alice, merchant));
  assert.equal(denied.code, Code.PermissionDenied);
  assert.equal(denied.reason, "PERMISSION_DENIED");
});

test("no envoi at the target: UNAVAILABLE, and no reason since envoi did not answer", async () => {
  // Port 1 on this machine: nothing listens there, the connection is refused.
  const nowhere = createEnvoiClient("127.0.0.1:1", "envoi_unused");
  const error = await failure(nowhere.accounts.getBalance({ accountId: randomUUID() }));
  assert.equal(error.code, Code.Unavailable);
  assert.equal(error.reason, undefined);
  assert.deepEqual(error.metadata, {});
});

// A delivery signed by envoi's worker (the Python side computed these).
const HOOK_BODY = '{"id":"ZTE6MTox","type":"EVENT_TYPE_TRANSFER_COMPLETED"}';
const HOOK_T = 1800000000;
const HOOK_V1_NEW = "e10fa57555cadef7f282c01d4f53f0fed3b12c27d1444b557066981205aff643";
const HOOK_V1_OLD = "bd5d587ab7cdb3449663533ca442bb548f5823a3e788d7a8273ca5b97766c15d";

test("verifyWebhook accepts envoi's signatures, under either secret after a rotation", () => {
  const header = `t=${HOOK_T},v1=${HOOK_V1_NEW},v1=${HOOK_V1_OLD}`;
  verifyWebhook(Buffer.from(HOOK_BODY), header, "whsec_test", 300, HOOK_T);
  verifyWebhook(HOOK_BODY, header, "whsec_old", 300, HOOK_T + 300);
  assert.equal(signWebhook(HOOK_BODY, "whsec_test", HOOK_T), HOOK_V1_NEW);
});

test("verifyWebhook refuses a changed body, another secret, an old time, a bad header", () => {
  const header = `t=${HOOK_T},v1=${HOOK_V1_NEW}`;
  const refused = [
    [`${HOOK_BODY} `, header, "whsec_test", HOOK_T],
    [HOOK_BODY, header, "whsec_other", HOOK_T],
    [HOOK_BODY, header, "whsec_test", HOOK_T + 301],
    [HOOK_BODY, `v1=${HOOK_V1_NEW}`, "whsec_test", HOOK_T],
    [HOOK_BODY, `t=${HOOK_T}`, "whsec_test", HOOK_T],
    [HOOK_BODY, undefined, "whsec_test", HOOK_T],
    [HOOK_BODY, `t=${HOOK_T},v1=${"0".repeat(5000)}`, "whsec_test", HOOK_T],
  ];
  for (const [body, badHeader, secret, now] of refused) {
    assert.throws(() => verifyWebhook(body, badHeader, secret, 300, now), WebhookSignatureError);
  }
});

test("a merchant registers a webhook endpoint; bad ones are refused with typed errors", async () => {
  const created = await merchant.webhooks.createWebhookEndpoint({
    requestId: randomUUID(),
    accountId: shop,
    url: "https://shop.example/envoi-hooks",
    eventTypes: [EventType.TRANSFER_COMPLETED],
  });
  assert.match(created.secret, /^whsec_/);
  const { endpoints } = await merchant.webhooks.listWebhookEndpoints({ accountId: shop });
  assert.ok(endpoints.some((e) => e.endpointId === created.endpoint.endpointId));
  await assert.rejects(
    merchant.webhooks.createWebhookEndpoint({
      requestId: randomUUID(),
      accountId: shop,
      url: "http://shop.example/envoi-hooks",
      eventTypes: [EventType.TRANSFER_COMPLETED],
    }),
    (error) => {
      const refused = envoiError(error);
      assert.equal(refused.code, Code.InvalidArgument);
      assert.ok("url" in refused.fieldViolations);
      return true;
    },
  );
});
