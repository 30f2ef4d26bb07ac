import { describe, expect, it } from 'vitest';
import { en } from './en';
import { MESSAGES, resolveLocale } from './index';
import { zhCN } from './zh-CN';
import { I18n } from '../state/i18n.svelte';

/** Every leaf key path, so a string added to one locale and forgotten in the other fails here. */
function keys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    v && typeof v === 'object' && !Array.isArray(v) ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('locale files', () => {
  it('have the same keys', () => {
    const optional = (k: string) => k.startsWith('errorHints.') || k.startsWith('accounts.providers.');
    expect(keys(zhCN).filter((k) => !optional(k)).sort()).toEqual(keys(en).filter((k) => !optional(k)).sort());
    expect(Object.keys(zhCN.errorHints).sort()).toEqual(Object.keys(en.errorHints).sort());
  });
  it('name every state with the words the end-to-end tests look for', () => {
    expect(Object.values(en.states)).toEqual([
      'Waiting', 'Hashing', 'Preparing', 'Uploading', 'Completing', 'Uploaded', 'Instant', 'Paused', 'Failed', 'Cancelled',
    ]);
    expect(zhCN.states.instant).toBe('秒传');
  });
  it('pluralise English and not Chinese', () => {
    expect(en.live.added(1)).toBe('Added 1 file.');
    expect(en.live.added(3)).toBe('Added 3 files.');
    expect(zhCN.live.added(3)).toBe('已添加 3 个文件。');
  });
});

describe('resolveLocale', () => {
  it('maps any Chinese system locale to zh-CN and the rest to English', () => {
    for (const l of ['zh-CN', 'zh_CN.UTF-8', 'zh-Hans-CN', 'zh-TW', 'zh']) expect(resolveLocale(l)).toBe('zh-CN');
    for (const l of ['en-US', 'de-DE', 'C', '', null, undefined]) expect(resolveLocale(l)).toBe('en');
  });
});

describe('I18n store', () => {
  it('follows the system until the settings pick a language', () => {
    const i = new I18n();
    i.systemLocale = 'zh_CN.UTF-8';
    expect(i.locale).toBe('zh-CN');
    expect(i.t).toBe(MESSAGES['zh-CN']);
    i.choice = 'en';
    expect(i.locale).toBe('en');
    expect(i.t.addFiles).toBe('Add files');
    i.choice = 'system';
    expect(i.t.addFiles).toBe('添加文件');
  });
});
