// Rate limiting's arithmetic and policies: GCRA on integer microseconds, and the policy shape
// both the SDK's limiter and Keel's `/v1/ratelimit` use.
export { admits, type GcraOutcome, type GcraParams, gcra } from "./ratelimit/gcra.js";
export {
  FAIL_MODES,
  type FailMode,
  MAX_LIMIT,
  MAX_REPLICAS,
  MAX_WINDOW_SECONDS,
  POLICY_NAME,
  type Policy,
  policyProblems,
  type ResolvedPolicy,
  validatePolicy,
} from "./ratelimit/policy.js";
