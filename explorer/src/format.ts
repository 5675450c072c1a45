/** Text forms of numbers and times. */

/** `1.23 MH/s` style, like the node's log. */
export function formatRate(hashesPerSecond: number): string {
  const units = ['H/s', 'kH/s', 'MH/s', 'GH/s'];
  let value = hashesPerSecond;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 2)} ${units[unit]}`;
}

export function shortHash(hash: string): string {
  return hash.length > 16 ? `${hash.slice(0, 10)}…${hash.slice(-6)}` : hash;
}

/**
 * A block timestamp in milliseconds, or null. This node writes Unix seconds;
 * jbc peers write `YYYYmmddHHMMSSffffff` in the miner's local time (read here
 * as the viewer's local time, the best guess there is).
 */
export function timestampMs(timestamp: string): number | null {
  if (/^\d{1,11}$/.test(timestamp)) return Number(timestamp) * 1000;
  if (/^\d{12,13}$/.test(timestamp)) return Number(timestamp);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})\d{0,6}$/.exec(timestamp);
  if (m === null) return null;
  const [, y, mo, d, hh, mm, ss] = m.map(Number) as [number, number, number, number, number, number, number];
  return new Date(y, mo - 1, d, hh, mm, ss).getTime();
}

export function age(ms: number | null, now = Date.now()): string {
  if (ms === null) return '—';
  const seconds = Math.round((now - ms) / 1000);
  if (seconds < 0) return 'in the future';
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Refreshes every `[data-ms]` element's "… ago" text; local only, no request. */
export function refreshAges(root: ParentNode): void {
  const now = Date.now();
  for (const el of root.querySelectorAll<HTMLElement>('[data-ms]')) el.textContent = age(Number(el.dataset.ms), now);
}

export function preview(text: string, max = 60): string {
  const oneLine = text.replace(/\s+/g, ' ');
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…` : oneLine;
}

/** `312 B`, `1.2 kB`, `64.0 kB`, `1.5 MB` (decimal units). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  if (bytes < 1_000_000) return `${(bytes / 1000).toFixed(1)} kB`;
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** A span of seconds: `0.21 s`, `12 s`, `3 min 4 s`, `2 h 5 min`. */
export function formatSeconds(seconds: number): string {
  const sign = seconds < 0 ? '−' : '';
  const s = Math.abs(seconds);
  if (s < 10) return `${sign}${s.toFixed(s < 1 && s > 0 ? 2 : s % 1 === 0 ? 0 : 1)} s`;
  if (s < 60) return `${sign}${Math.round(s)} s`;
  if (s < 3600) return `${sign}${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${sign}${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The local time of day, `14:05:09`; with the date when it is not today. */
export function clockTime(ms: number, now = Date.now()): string {
  const at = new Date(ms);
  const two = (n: number): string => String(n).padStart(2, '0');
  const time = `${two(at.getHours())}:${two(at.getMinutes())}:${two(at.getSeconds())}`;
  if (at.toDateString() === new Date(now).toDateString()) return time;
  return `${at.getFullYear()}-${two(at.getMonth() + 1)}-${two(at.getDate())} ${time}`;
}

/** Bytes of the block as the node serves it (its output form, UTF-8). */
export function blockBytes(block: {
  readonly index: string;
  readonly timestamp: string;
  readonly data: string;
  readonly prev_hash: string;
  readonly nonce: string;
  readonly hash: string;
}): number {
  const { index, timestamp, data, prev_hash, nonce, hash } = block;
  return new TextEncoder().encode(JSON.stringify({ index, timestamp, data, prev_hash, nonce, hash })).length;
}
