// The Node pull worker is the engine's; the SDK re-exports it so applications import one package.
export {
  type AttemptDetail,
  type ClaimedJob,
  createWorker,
  type ErrorCode,
  type Handler,
  type Handlers,
  isKeelError,
  type JobContext,
  type JobOutcome,
  KeelError,
  LeaseLostError,
  NonRetryableError,
  RetryAfterError,
  Worker,
  type WorkerHooks,
  type WorkerOptions,
  WorkerShutdownError,
} from "@keel/engine";
export { defineHandlers, type HandlerJob, type TypedHandlers } from "./handlers.js";
