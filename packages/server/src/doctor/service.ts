import { type Engine, PeriodicTask } from "@keel/engine";
import { type DoctorInputs, readDoctorInputs } from "./inputs.js";
import { type DoctorOptions, runDoctor } from "./run.js";
import type { DoctorReport } from "./types.js";

export interface DoctorServiceOptions {
  /** What the checks look at, read when a run starts. */
  inputs: () => Promise<DoctorInputs> | DoctorInputs;
  options?: DoctorOptions;
  /** Told about every report (the metrics gauge). */
  onReport?: (report: DoctorReport) => void;
  /** Run the checks this often in the background (the metrics stay current); 0 or unset: never. */
  intervalMs?: number;
}

/** Runs the doctor for the API and the metrics: one run at a time per kind, shared by concurrent callers. */
export interface DoctorService {
  run(options?: { probes?: boolean }): Promise<DoctorReport>;
  /** The report of the run that finished last (background or asked for), if any. */
  latest(): DoctorReport | undefined;
  stop(): Promise<void>;
}

/**
 * The doctor inside a server: `GET /v1/doctor` calls `run`; a caller arriving while a run of the
 * same kind is in flight gets that run's report, so a flood of requests sends one set of
 * probes. With `intervalMs`, a background run refreshes `keel_doctor_check`.
 *
 * @example
 * const doctor = createDoctorService({ inputs: () => inputs, onReport: (r) => metrics.recordDoctor(r) });
 */
export function createDoctorService(service: DoctorServiceOptions): DoctorService {
  const inFlight = new Map<boolean, Promise<DoctorReport>>();
  let last: DoctorReport | undefined;
  const run = ({ probes = true }: { probes?: boolean } = {}) => {
    const current = inFlight.get(probes);
    if (current) return current;
    const started = (async () => {
      const report = await runDoctor(await service.inputs(), { ...service.options, probes });
      service.onReport?.(report);
      last = report;
      return report;
    })().finally(() => inFlight.delete(probes));
    inFlight.set(probes, started);
    return started;
  };
  const periodic = service.intervalMs
    ? new PeriodicTask({
        name: "doctor",
        intervalMs: service.intervalMs,
        run: () => run(),
        unref: true,
      }).start()
    : undefined;
  return {
    run,
    latest: () => last,
    stop: async () => {
      await periodic?.stop();
      await Promise.allSettled(inFlight.values());
    },
  };
}

/** The doctor of a server given no config (tests, embedders): the checks over `env` and the engine, one replica. */
export function defaultDoctor(engine: Engine, env: NodeJS.ProcessEnv): DoctorService {
  return createDoctorService({ inputs: async () => ({ ...(await readDoctorInputs(env)), engine, self: 1 }) });
}
