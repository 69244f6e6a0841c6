export { KeelClient } from "./client.js";
export {
  type ApiErrorCode,
  KeelApiError,
  KeelAuthError,
  KeelConflictError,
  KeelInvalidRequestError,
  KeelNetworkError,
  KeelNotFoundError,
  KeelRateLimitedError,
  KeelServerError,
} from "./errors.js";
export { OPERATIONS, type Operation, type OperationId, type RetryMode } from "./operations.js";
export { AuditApi, JobsApi, QueuesApi, RateLimitsApi, SwitchesApi, TokensApi } from "./resources.js";
export { EventsApi, SourcesApi } from "./resources-intake.js";
export { SchedulesApi, TenantsApi } from "./resources-schedules.js";
export type { RetryOptions } from "./retry.js";
export type { CallOptions, ClientOptions, CreateOptions, RequestSpec, ResponseInfo } from "./transport.js";
export type * from "./types.js";
export type * from "./types-intake.js";
export type * from "./types-schedules.js";
