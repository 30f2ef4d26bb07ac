// Sizes, speeds and times as the user reads them. Binary units (1 KB = 1024 B) labelled KB/MB/GB, which is what
// 123pan's and 6pan's own clients show, so a file's size matches what the cloud's web page says.
export type Locale = 'en' | 'zh-CN';

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;
const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(locale: Locale, maxFraction: number): Intl.NumberFormat {
  const key = `${locale}/${maxFraction}`;
  let f = formatters.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, { maximumFractionDigits: maxFraction, minimumFractionDigits: 0 });
    formatters.set(key, f);
  }
  return f;
}

export function formatCount(n: number, locale: Locale): string {
  return numberFormat(locale, 0).format(n);
}

/** `12 B`, `2 KB`, `3.1 MB`, `7.8 GB`, `512 MB`: one decimal below 100 so the last digit moves at a readable pace. */
export function formatBytes(bytes: number, locale: Locale): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '—';
  let unit = 0;
  let value = bytes;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  if (unit === 0) return `${numberFormat(locale, 0).format(value)} B`;
  // 1023.96 KB would print as "1024 KB": roll over so a value never shows 4 digits.
  if (Math.round(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${numberFormat(locale, value < 100 ? 1 : 0).format(value)} ${UNITS[unit]}`;
}

export function formatSpeed(bytesPerSec: number, locale: Locale): string {
  return `${formatBytes(bytesPerSec, locale)}/s`;
}

const ETA_UNITS: Record<Locale, { h: string; m: string; s: string; sep: string }> = {
  en: { h: 'h', m: 'm', s: 's', sep: ' ' },
  'zh-CN': { h: '小时', m: '分', s: '秒', sep: '' },
};

/** `3s`, `2m 10s`, `1h 05m` (zh: `3秒`, `2分10秒`, `1小时05分`); two units at most, `—` when unknown. */
export function formatEta(secs: number | null | undefined, locale: Locale): string {
  if (secs === null || secs === undefined || !Number.isFinite(secs) || secs < 0) return '—';
  const u = ETA_UNITS[locale];
  const total = Math.round(secs);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}${u.h}${u.sep}${pad(m)}${u.m}`;
  if (m > 0) return `${m}${u.m}${u.sep}${pad(s)}${u.s}`;
  return `${s}${u.s}`;
}

/** Whole percent, rounded down so 99.7% never reads as a finished 100%. */
export function percentOf(done: number, total: number): number {
  if (total <= 0) return done > 0 ? 100 : 0;
  return Math.max(0, Math.min(100, Math.floor((done / total) * 100)));
}

export function formatPercent(pct: number, locale: Locale): string {
  return `${formatCount(pct, locale)}%`;
}

/** Megabytes per second (binary) in the settings' speed-limit field ↔ bytes per second on the wire. */
export function limitToMiBps(bytesPerSec: number | null): number | null {
  return bytesPerSec === null ? null : Math.round((bytesPerSec / (1024 * 1024)) * 10) / 10;
}
export function mibpsToLimit(mib: number | null): number | null {
  return mib === null || !(mib > 0) ? null : Math.round(mib * 1024 * 1024);
}
