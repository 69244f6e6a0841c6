// The one error registry lives in @keel/protocol (runtime-neutral, shared with the SDK and the
// server); the engine throws from it.
export { ERROR_CODES, type ErrorCode, formatError, isKeelError, KeelError } from "@keel/protocol/errors";
