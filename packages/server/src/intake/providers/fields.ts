import type { EventField } from "@keel/engine";
import { headerText, type IntakeRequest, idText, jsonBody, pathId, pathText } from "../verify.js";

/** The event id of an hmac or bearer source, from the configured header or JSON path, at any length. */
export function configuredId(request: IntakeRequest, field: EventField | undefined): string | null {
  if (!field) return null;
  if ("header" in field) return idText(request.headers[field.header.toLowerCase()]);
  return pathId(jsonBody(request.body), field.path);
}

/** The event type of an hmac or bearer source, from the configured header or JSON path. */
export function configuredType(request: IntakeRequest, field: EventField | undefined): string | null {
  if (!field) return null;
  if ("header" in field) return headerText(request.headers[field.header.toLowerCase()]);
  return pathText(jsonBody(request.body), field.path);
}
