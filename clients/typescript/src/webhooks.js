// Checking that a webhook delivery comes from envoi (docs/merchants.md):
//   Envoi-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">
// After a rotation the header carries one v1 per live secret for a day; any
// one that matches is enough. Check the raw bytes of the body, before parsing.
import { createHmac, timingSafeEqual } from "node:crypto";

export const SIGNATURE_HEADER = "Envoi-Signature";
const MAX_HEADER_LENGTH = 4096;

/** The delivery is not envoi's, or too old (a replay): answer 400 and drop it. */
export class WebhookSignatureError extends Error {
  constructor(message) {
    super(message);
    this.name = "WebhookSignatureError";
  }
}

/** The v1 signature of a body at a time (what envoi sends, one per secret). */
export function signWebhook(body, secret, timestampS) {
  return createHmac("sha256", secret).update(`${timestampS}.`).update(body).digest("hex");
}

/**
 * Throws WebhookSignatureError unless `header` (the Envoi-Signature value)
 * signs `body` (the raw request body: a Buffer, Uint8Array or string) under
 * `secret`, at a time within toleranceS of now. Compares in constant time.
 */
export function verifyWebhook(body, header, secret, toleranceS = 300, nowS = Date.now() / 1000) {
  if (typeof header !== "string" || !header || header.length > MAX_HEADER_LENGTH) {
    throw new WebhookSignatureError("no Envoi-Signature header, or one too long");
  }
  let timestamp;
  const signatures = [];
  for (const part of header.split(",")) {
    const [key, value = ""] = part.trim().split("=", 2);
    if (key === "t" && /^\d{1,12}$/.test(value)) {
      timestamp = Number(value);
    } else if (key === "v1") {
      signatures.push(value);
    }
  }
  if (timestamp === undefined || signatures.length === 0) {
    throw new WebhookSignatureError("the Envoi-Signature header needs t= and v1=");
  }
  if (Math.abs(nowS - timestamp) > toleranceS) {
    throw new WebhookSignatureError("the signature's time is outside the tolerance (a replay?)");
  }
  const expected = Buffer.from(signWebhook(body, secret, timestamp));
  let matched = false;
  for (const signature of signatures) {
    const given = Buffer.from(signature);
    // Every v1 is compared, without stopping at the first match.
    matched = (given.length === expected.length && timingSafeEqual(given, expected)) || matched;
  }
  if (!matched) {
    throw new WebhookSignatureError("no v1 signature matches this secret");
  }
}
