/**
 * Window arithmetic. Windows are half-open, `[from, to)`: a sale stamped exactly
 * `to` belongs to the next window, so consecutive windows neither overlap nor
 * leave a gap. Bounds are whole seconds (sources may keep no fractions), `to`
 * stays `safetyLagMs` behind the clock so a sale committed a moment late with an
 * earlier timestamp is still inside a window not yet read, and one window never
 * spans more than `maxWindowMs`: after downtime the agent catches up in several
 * bounded windows.
 */
export type SyncWindow = { fromMs: number; toMs: number };

export type WindowPolicy = { maxWindowMs: number; safetyLagMs: number };

export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** The newest instant a window may end at now. */
export function horizon(nowMs: number, policy: WindowPolicy): number {
  return floorToSecond(nowMs - policy.safetyLagMs);
}

/** The window after `lastToMs`, or null when nothing is due yet. */
export function nextWindow(
  lastToMs: number,
  nowMs: number,
  policy: WindowPolicy,
): SyncWindow | null {
  const end = horizon(nowMs, policy);
  if (end <= lastToMs) return null;
  return { fromMs: lastToMs, toMs: Math.min(lastToMs + policy.maxWindowMs, end) };
}

/** Every window from `lastToMs` up to the horizon, in order (what a catch-up reads). */
export function dueWindows(lastToMs: number, nowMs: number, policy: WindowPolicy): SyncWindow[] {
  const out: SyncWindow[] = [];
  let last = lastToMs;
  for (let w = nextWindow(last, nowMs, policy); w; w = nextWindow(last, nowMs, policy)) {
    out.push(w);
    last = w.toMs;
  }
  return out;
}

export function windowMinutes(w: SyncWindow): number {
  return Math.round((w.toMs - w.fromMs) / 60_000);
}
