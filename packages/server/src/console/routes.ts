import type { ConsoleRole } from "@keel/engine";
import type { Html } from "./html.js";
import type { ConsoleCall } from "./page.js";

export type Fields = Record<string, string>;

/** What a console action answers: where to go next (Post/Redirect/Get), or a page to show (a new token). */
export type ActionResult = { redirect: string } | { page: Html };

/** How views and actions register: GETs render a page, POSTs act and redirect. */
export interface ConsoleRoutes {
  get(
    path: string,
    handler: (call: ConsoleCall, params: Fields, query: Fields) => Promise<Html>,
    needed?: ConsoleRole,
  ): void;
  post(
    path: string,
    needed: ConsoleRole,
    handler: (call: ConsoleCall, params: Fields, form: Fields) => Promise<ActionResult>,
  ): void;
}

/** `path?done=<action>&what=<target>&n=<count>`: the notice the next page shows. */
export function done(path: string, action: string, what: string, n: number | string = 0): ActionResult {
  const q = new URLSearchParams({ done: action, what, n: String(n) });
  return { redirect: `${path}${path.includes("?") ? "&" : "?"}${q}` };
}
