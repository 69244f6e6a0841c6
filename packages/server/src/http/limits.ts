// The HTTP edge's limits, read by the server options (edge-errors.ts) and the error replies
// that name them (api/errors.ts).

/**
 * Longest path segment the router takes (Fastify's default is 100). The longest names Keel
 * routes are a switch `scheduling:<schedule>` (111 characters) and a tenant id (128).
 */
export const MAX_PARAM_LENGTH = 1024;

/** How long a client may take to send its whole request. */
export const REQUEST_TIMEOUT_MS = 30_000;
