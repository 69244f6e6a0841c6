import { Cron, CronPattern } from "croner";
import { KeelError } from "../errors.js";

const MODE = "5-or-6-parts" as const;
const UTC_ZONES = new Set([
  "UTC",
  "Etc/UTC",
  "Etc/UCT",
  "UCT",
  "Etc/GMT",
  "GMT",
  "Etc/Zulu",
  "Zulu",
  "Universal",
]);

/** Throws `invalid_timezone` unless `timezone` is an IANA zone this runtime knows. */
export function validateTimezone(timezone: string): void {
  try {
    if (typeof timezone !== "string" || timezone === "") throw new RangeError("empty");
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
  } catch {
    throw new KeelError("invalid_timezone", { timezone: String(timezone) });
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The zone's offset from UTC at `at`, in minutes (east positive). */
function offsetMinutes(timezone: string, at: Date): number {
  let format = formatters.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone: timezone,
      hourCycle: "h23",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    formatters.set(timezone, format);
  }
  const parts = format.formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  const wall = Date.UTC(get("year"), get("month") - 1, get("day"), get("hour"), get("minute"), get("second"));
  return Math.round((wall - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/**
 * A cron expression (five fields, or six with seconds first) in an IANA time zone, through
 * croner. Slots are the instants whose wall-clock time in the zone matches, with these rules
 * where daylight saving moves the clock (docs/schedules.md):
 *
 * - Spring forward: a wall time inside the gap fires once, shifted forward by the gap's length
 *   (02:30 in New York on the transition day fires at 03:30 EDT), so a daily run is never lost.
 * - Fall back: when the hour field is `*` (every hour), both occurrences of the repeated hour
 *   fire, so hourly and minutely schedules keep their real-time cadence; any other expression
 *   fires on the first occurrence only, so a daily 01:30 run happens once.
 *
 * @example
 * const cron = new CronSchedule("30 2 * * *", "America/New_York");
 * cron.next(new Date("2026-03-08T00:00:00Z")); // 2026-03-08T07:30:00Z (03:30 EDT)
 */
export class CronSchedule {
  private readonly cron: Cron;
  /** The hour field matches every hour: the repeated hour of a fall-back runs twice. */
  private readonly everyHour: boolean;

  constructor(
    readonly expression: string,
    readonly timezone: string,
  ) {
    validateTimezone(timezone);
    if (typeof expression !== "string" || expression.trim() === "") {
      throw new KeelError("invalid_cron", { cron: String(expression), detail: "the expression is empty" });
    }
    try {
      // Croner is much faster with a fixed offset than with a zone: use it where they agree.
      const utc = UTC_ZONES.has(timezone);
      this.cron = new Cron(expression, {
        ...(utc ? { utcOffset: 0 } : { timezone }),
        mode: MODE,
        paused: true,
      });
      this.everyHour =
        !utc && new CronPattern(expression, undefined, { mode: MODE }).hour.every((h) => h === 1);
    } catch (err) {
      throw new KeelError("invalid_cron", { cron: expression, detail: (err as Error).message });
    }
    if (this.cron.nextRun(new Date()) === null) {
      throw new KeelError("invalid_cron", { cron: expression, detail: "it never fires" });
    }
  }

  /** The first slot strictly after `after`; null when the expression fires no more. */
  next(after: Date): Date | null {
    let regular = this.cron.nextRun(after);
    if (regular && regular <= after) {
      // Inside the second occurrence of a repeated hour croner maps wall times back to the
      // first occurrence, which is in the past: continue from the end of the repeated hour.
      const repeat = this.repeatedInterval(new Date(after.getTime() - 3 * 3_600_000), after);
      if (!repeat) throw new Error(`cron '${this.expression}' went back in time from ${after.toISOString()}`);
      if (this.everyHour) {
        const slot = this.fixedOffsetSlot(after, repeat);
        if (slot) return slot;
      }
      regular = this.cron.nextRun(new Date(repeat.until - 1));
    }
    if (!regular || !this.everyHour) return regular;
    const repeat = this.repeatedInterval(after, regular);
    const slot = repeat ? this.fixedOffsetSlot(after, repeat) : null;
    return slot && slot < regular ? slot : regular;
  }

  /** The next `count` slots strictly after `after`. */
  nextN(after: Date, count: number): Date[] {
    const out: Date[] = [];
    let at = this.next(after);
    while (at && out.length < count) {
      out.push(at);
      at = this.next(at);
    }
    return out;
  }

  /** The latest slot strictly before `before`, or null. */
  previous(before: Date): Date | null {
    // Step back from `before` until a window holds a slot, then walk that window forward: the
    // same rules as `next`, so the two never disagree about which instants are slots.
    let span = 1_000;
    while (span <= 400 * 86_400_000) {
      const start = new Date(before.getTime() - span);
      let slot = this.next(start);
      if (slot && slot < before) {
        let after: Date | null = this.next(slot);
        while (after && after < before) {
          slot = after;
          after = this.next(slot);
        }
        return slot;
      }
      span *= 4;
    }
    return null;
  }

  /**
   * The second occurrence of a repeated hour (clocks falling back) between `from` and `to`:
   * the instants [start, until) whose wall times already happened, and their offset.
   */
  private repeatedInterval(from: Date, to: Date): { start: number; until: number; offset: number } | null {
    const before = offsetMinutes(this.timezone, from);
    const later = offsetMinutes(this.timezone, to);
    if (later >= before) return null;
    let lo = from.getTime();
    let hi = to.getTime();
    while (hi - lo > 1_000) {
      const mid = Math.floor((lo + hi) / 2);
      if (offsetMinutes(this.timezone, new Date(mid)) === before) lo = mid;
      else hi = mid;
    }
    const start = hi - (hi % 1_000);
    return { start, until: start + (before - later) * 60_000, offset: later };
  }

  /** For every-hour expressions: the first slot after `after` inside the repeated interval. */
  private fixedOffsetSlot(
    after: Date,
    repeat: { start: number; until: number; offset: number },
  ): Date | null {
    const fixed = new Cron(this.expression, { utcOffset: repeat.offset, mode: MODE, paused: true });
    const slot = fixed.nextRun(new Date(Math.max(after.getTime(), repeat.start - 1)));
    return slot && slot.getTime() < repeat.until && slot > after ? slot : null;
  }
}
