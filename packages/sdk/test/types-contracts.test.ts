/**
 * The SDK's API types are declared by hand (the SDK does not depend on @keel/server); these
 * assertions prove them equal to the server's zod contracts, so a change on one side without the
 * other fails `tsc -b` (and so `npm test`). Request bodies compare with `z.input` (what a client
 * sends), queries and responses with `z.output` (what the server reads and answers).
 */
import { test } from "node:test";
import { expectTypeOf } from "expect-type";
import type { z } from "zod";
import type {
  cancelJob,
  checkRateLimit,
  createJob,
  createJobs,
  createToken,
  deleteSchedule,
  deleteSource,
  deleteTenant,
  getEvent,
  getJob,
  getSchedule,
  getSource,
  listAudit,
  listEvents,
  listJobs,
  listQueues,
  listRejections,
  listScheduleRuns,
  listSchedules,
  listSources,
  listSwitches,
  listTenants,
  listTokens,
  nextFireTimes,
  pauseQueue,
  pauseSchedule,
  purgeDead,
  putSchedule,
  putSource,
  putTenant,
  replayEvent,
  replayEvents,
  resumeSchedule,
  retryDead,
  retryJob,
  revokeToken,
  setSwitch,
  triggerSchedule,
} from "../../server/src/api/contracts/index.js";
import type * as Sdk from "../src/index.js";

type Body<C extends { body: z.ZodType }> = z.input<C["body"]>;
/** Bodyless-or-object POSTs: the object the client sends. */
type BodyObject<C extends { body: z.ZodType }> = NonNullable<z.input<C["body"]>>;
type Query<C extends { query: z.ZodType }> = z.output<C["query"]>;
type Out<C extends { responses: Record<number, { schema: z.ZodType }> }, S extends number> = z.output<
  C["responses"][S]["schema"]
>;

test("request and response types equal the server's contracts (checked by tsc)", () => {
  expectTypeOf<Sdk.JobInput>().toEqualTypeOf<Body<typeof createJob>>();
  expectTypeOf<{ jobs: Sdk.JobInput[] }>().toEqualTypeOf<Body<typeof createJobs>>();
  expectTypeOf<Sdk.JobCreated>().toEqualTypeOf<Out<typeof createJob, 201>>();
  expectTypeOf<Sdk.JobCreated>().toEqualTypeOf<Out<typeof createJob, 200>>();
  expectTypeOf<{ jobs: Sdk.JobCreated[] }>().toEqualTypeOf<Out<typeof createJobs, 201>>();
  expectTypeOf<Sdk.Job>().toEqualTypeOf<Out<typeof getJob, 200>>();
  expectTypeOf<Sdk.ListJobsQuery>().toEqualTypeOf<Query<typeof listJobs>>();
  expectTypeOf<Sdk.JobPage>().toEqualTypeOf<Out<typeof listJobs, 200>>();
  expectTypeOf<{ id: string }>().toEqualTypeOf<Out<typeof retryJob, 200>>();
  expectTypeOf<Sdk.CancelledJob>().toEqualTypeOf<Out<typeof cancelJob, 200>>();

  expectTypeOf<{ queues: Sdk.Queue[] }>().toEqualTypeOf<Out<typeof listQueues, 200>>();
  expectTypeOf<Sdk.QueuePaused>().toEqualTypeOf<Out<typeof pauseQueue, 200>>();
  expectTypeOf<{ queue: string; retried: number }>().toEqualTypeOf<Out<typeof retryDead, 200>>();
  expectTypeOf<{ queue: string; purged: number }>().toEqualTypeOf<Out<typeof purgeDead, 200>>();
  expectTypeOf<{ switches: Sdk.Switch[] }>().toEqualTypeOf<Out<typeof listSwitches, 200>>();
  expectTypeOf<Sdk.SetSwitchInput>().toEqualTypeOf<Body<typeof setSwitch>>();
  expectTypeOf<Sdk.Switch>().toEqualTypeOf<Out<typeof setSwitch, 200>>();

  expectTypeOf<Sdk.CreateTokenInput>().toEqualTypeOf<Body<typeof createToken>>();
  expectTypeOf<Sdk.CreatedToken>().toEqualTypeOf<Out<typeof createToken, 201>>();
  expectTypeOf<{ tokens: Sdk.Token[] }>().toEqualTypeOf<Out<typeof listTokens, 200>>();
  expectTypeOf<Sdk.Token>().toEqualTypeOf<Out<typeof revokeToken, 200>>();
  expectTypeOf<Sdk.ListAuditQuery>().toEqualTypeOf<Query<typeof listAudit>>();
  expectTypeOf<Sdk.AuditPage>().toEqualTypeOf<Out<typeof listAudit, 200>>();

  expectTypeOf<Sdk.RateLimitCheckInput>().toEqualTypeOf<Body<typeof checkRateLimit>>();
  expectTypeOf<Sdk.RateLimitCheckResult>().toEqualTypeOf<Out<typeof checkRateLimit, 200>>();
});

test("schedules, tenants, events and sources types equal the server's contracts (checked by tsc)", () => {
  expectTypeOf<{ schedules: Sdk.Schedule[] }>().toEqualTypeOf<Out<typeof listSchedules, 200>>();
  expectTypeOf<Sdk.Schedule>().toEqualTypeOf<Out<typeof getSchedule, 200>>();
  expectTypeOf<Sdk.ScheduleInput>().toEqualTypeOf<Body<typeof putSchedule>>();
  expectTypeOf<Sdk.Schedule>().toEqualTypeOf<Out<typeof putSchedule, 201>>();
  expectTypeOf<{ name: string; deleted: true }>().toEqualTypeOf<Out<typeof deleteSchedule, 200>>();
  expectTypeOf<{ reason?: string }>().toEqualTypeOf<BodyObject<typeof pauseSchedule>>();
  expectTypeOf<Sdk.Schedule>().toEqualTypeOf<Out<typeof pauseSchedule, 200>>();
  expectTypeOf<Sdk.ResumeScheduleInput>().toEqualTypeOf<BodyObject<typeof resumeSchedule>>();
  expectTypeOf<{ schedule: Sdk.Schedule; backfilled: number }>().toEqualTypeOf<
    Out<typeof resumeSchedule, 200>
  >();
  expectTypeOf<Sdk.ScheduleTriggered>().toEqualTypeOf<Out<typeof triggerSchedule, 201>>();
  expectTypeOf<Sdk.ListScheduleRunsQuery>().toEqualTypeOf<Query<typeof listScheduleRuns>>();
  expectTypeOf<Sdk.ScheduleRunPage>().toEqualTypeOf<Out<typeof listScheduleRuns, 200>>();
  expectTypeOf<{ count?: number }>().toEqualTypeOf<Query<typeof nextFireTimes>>();
  expectTypeOf<{ fireTimes: string[] }>().toEqualTypeOf<Out<typeof nextFireTimes, 200>>();
  expectTypeOf<{ tenants: Sdk.Tenant[] }>().toEqualTypeOf<Out<typeof listTenants, 200>>();
  expectTypeOf<{ id: string; created: boolean }>().toEqualTypeOf<Out<typeof putTenant, 201>>();
  expectTypeOf<{ id: string; deleted: true }>().toEqualTypeOf<Out<typeof deleteTenant, 200>>();

  expectTypeOf<Sdk.ListEventsQuery>().toEqualTypeOf<Query<typeof listEvents>>();
  expectTypeOf<Sdk.EventPage>().toEqualTypeOf<Out<typeof listEvents, 200>>();
  expectTypeOf<Sdk.IntakeEvent>().toEqualTypeOf<Out<typeof getEvent, 200>>();
  expectTypeOf<Sdk.EventReplayed>().toEqualTypeOf<Out<typeof replayEvent, 200>>();
  expectTypeOf<Sdk.ReplayEventsInput>().toEqualTypeOf<Body<typeof replayEvents>>();
  expectTypeOf<Sdk.EventsReplayed>().toEqualTypeOf<Out<typeof replayEvents, 200>>();
  expectTypeOf<{ sources: Sdk.Source[] }>().toEqualTypeOf<Out<typeof listSources, 200>>();
  expectTypeOf<Sdk.Source>().toEqualTypeOf<Out<typeof getSource, 200>>();
  expectTypeOf<Sdk.SourceInput>().toEqualTypeOf<Body<typeof putSource>>();
  expectTypeOf<Sdk.Source>().toEqualTypeOf<Out<typeof putSource, 201>>();
  expectTypeOf<{ name: string; removed: true }>().toEqualTypeOf<Out<typeof deleteSource, 200>>();
  expectTypeOf<{ rejections: Sdk.SourceRejection[] }>().toEqualTypeOf<Out<typeof listRejections, 200>>();
});
