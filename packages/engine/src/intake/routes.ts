import type { EnqueueInput } from "../queue/types.js";
import type { Source, SourceRoute } from "./types.js";

const compiled = new Map<string, RegExp>();

/**
 * True when an event type matches a route pattern: `*` stands for any run of characters (dots
 * included), everything else is literal. An event without a type matches only `*`.
 *
 * @example
 * matchesType("customer.subscription.*", "customer.subscription.updated"); // true
 * matchesType("invoice.paid", "invoice.payment_failed"); // false
 */
export function matchesType(pattern: string, type: string | null): boolean {
  if (pattern === "*") return true;
  if (type === null) return false;
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split("*")
      .map((part) => part.replace(/[.+?^${}()|[\]\\/]/g, "\\$&"))
      .join(".*");
    re = new RegExp(`^${body}$`);
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re.test(type);
}

const ROUTE_FLOW_FIELDS = ["flowKey", "flowConcurrency", "singleton", "debounce"] as const;

/** The flow options a route declares (docs/flow-control.md), the ones it set only. */
export function routeFlow(route: Partial<Pick<SourceRoute, (typeof ROUTE_FLOW_FIELDS)[number]>>) {
  const out: Partial<Pick<SourceRoute, (typeof ROUTE_FLOW_FIELDS)[number]>> = {};
  for (const field of ROUTE_FLOW_FIELDS) {
    if (route[field] !== undefined) Object.assign(out, { [field]: route[field] });
  }
  return out;
}

/** The routes of `source` whose patterns match `type`, in declaration order. */
export function matchingRoutes(source: Pick<Source, "routes">, type: string | null): SourceRoute[] {
  return source.routes.filter((r) => r.events.some((p) => matchesType(p, type)));
}

/**
 * The jobs one routing of an event makes: one per matching route, carrying only the event's id
 * in their origin (the deliverer reads the body from the event; decision 013), and whether the
 * route was declared in the config file (decision 026).
 */
export function routeJobs(
  source: Pick<Source, "name" | "routes" | "managedBy">,
  event: { id: string; type: string | null },
): EnqueueInput[] {
  const config = source.managedBy === "config" ? { config: true as const } : {};
  return matchingRoutes(source, event.type).map((route) => ({
    queue: route.queue,
    target: route.target,
    payload: null,
    ...routeFlow(route),
    origin: { source: source.name, event: event.id, ...config },
  }));
}
