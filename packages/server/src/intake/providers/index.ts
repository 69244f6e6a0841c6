import type { Provider } from "@keel/engine";
import type { Verifier } from "../verify.js";
import { bearer } from "./bearer.js";
import { github } from "./github.js";
import { hmac } from "./hmac.js";
import { revenuecat } from "./revenuecat.js";
import { shopify } from "./shopify.js";
import { standard } from "./standard.js";
import { stripe } from "./stripe.js";

/** The verifier of each provider (docs/intake/<provider>.md). */
export const VERIFIERS: Readonly<Record<Provider, Verifier>> = {
  stripe,
  standard,
  github,
  shopify,
  revenuecat,
  hmac,
  bearer,
};
