import { describe, expect, it } from 'vitest';
import { formatBytes, formatEta, formatSpeed, limitToMiBps, mibpsToLimit, percentOf } from './format';

describe('formatBytes', () => {
  it('uses binary units labelled KB/MB/GB', () => {
    expect(formatBytes(12, 'en')).toBe('12 B');
    expect(formatBytes(2048, 'en')).toBe('2 KB');
    expect(formatBytes(3.1 * 1024 * 1024, 'en')).toBe('3.1 MB');
    expect(formatBytes(7.8 * 1024 ** 3, 'en')).toBe('7.8 GB');
    expect(formatBytes(512 * 1024 * 1024, 'en')).toBe('512 MB');
  });
  it('never prints four digits before the unit', () => {
    expect(formatBytes(1024 * 1024 - 1, 'en')).toBe('1 MB');
    expect(formatBytes(1023 * 1024, 'en')).toBe('1,023 KB');
  });
  it('handles zero and nonsense', () => {
    expect(formatBytes(0, 'en')).toBe('0 B');
    expect(formatBytes(-1, 'en')).toBe('—');
    expect(formatBytes(Number.NaN, 'en')).toBe('—');
  });
  it('formats numbers per locale', () => {
    expect(formatBytes(1.5 * 1024, 'zh-CN')).toBe('1.5 KB');
  });
});

describe('formatSpeed', () => {
  it('appends /s', () => {
    expect(formatSpeed(38 * 1024 * 1024, 'en')).toBe('38 MB/s');
    expect(formatSpeed(0, 'en')).toBe('0 B/s');
  });
});

describe('formatEta', () => {
  it('shows at most two units', () => {
    expect(formatEta(3, 'en')).toBe('3s');
    expect(formatEta(130, 'en')).toBe('2m 10s');
    expect(formatEta(3900, 'en')).toBe('1h 05m');
  });
  it('speaks Chinese units in zh-CN', () => {
    expect(formatEta(3, 'zh-CN')).toBe('3秒');
    expect(formatEta(130, 'zh-CN')).toBe('2分10秒');
    expect(formatEta(3900, 'zh-CN')).toBe('1小时05分');
  });
  it('is a dash when unknown', () => {
    expect(formatEta(null, 'en')).toBe('—');
    expect(formatEta(Number.POSITIVE_INFINITY, 'en')).toBe('—');
  });
});

describe('percentOf', () => {
  it('rounds down so unfinished never reads 100%', () => {
    expect(percentOf(997, 1000)).toBe(99);
    expect(percentOf(1000, 1000)).toBe(100);
    expect(percentOf(0, 0)).toBe(0);
    expect(percentOf(5, 0)).toBe(100);
  });
});

describe('speed limit conversion', () => {
  it('round-trips MB/s and bytes per second', () => {
    expect(mibpsToLimit(50)).toBe(50 * 1024 * 1024);
    expect(limitToMiBps(50 * 1024 * 1024)).toBe(50);
    expect(mibpsToLimit(null)).toBeNull();
    expect(mibpsToLimit(0)).toBeNull();
    expect(limitToMiBps(null)).toBeNull();
  });
});
