import { getDoctor } from "@keel/protocol/contracts";
import type { DoctorService } from "../../doctor/service.js";
import type { RouteDeps } from "./deps.js";

/** `GET /v1/doctor`: the checks of `keel doctor`, run in this replica. */
export function doctorRoutes({ mount }: RouteDeps, doctor: DoctorService): void {
  mount(getDoctor)(async (call) => ({
    status: 200,
    body: await doctor.run({ probes: call.query.probes !== "false" }),
  }));
}
