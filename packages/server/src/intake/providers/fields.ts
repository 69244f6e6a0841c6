import type { EventField } from "@keel/engine";
import { headerText, type IntakeRequest, jsonBody, pathText } from "../verify.js";

/** The event id or type of an hmac or bearer source, from the configured header or JSON path. */
export function configuredField(request: IntakeRequest, field: EventField | undefined): string | null {
  if (!field) return null;
  if ("header" in field) return headerText(request.headers[field.header.toLowerCase()]);
  return pathText(jsonBody(request.body), field.path);
}
