import { en, type Messages } from './en';
import { zhCN } from './zh-CN';
import type { Locale } from '../format';

export type { Messages, Locale };

export const MESSAGES: Record<Locale, Messages> = { en, 'zh-CN': zhCN };

/** Each language is named in itself, so someone who cannot read the current one can still find theirs. */
export const LANGUAGE_NAMES: Record<Locale, string> = { 'zh-CN': '中文（简体）', en: 'English' };

/** Maps an OS locale (`zh-CN`, `zh_Hans_CN.UTF-8`, `zh-TW`, `en-US`, `C`) to a locale we ship. Every Chinese
 *  variant gets simplified Chinese: closer to a reader of traditional characters than English is. */
export function resolveLocale(system: string | null | undefined): Locale {
  const tag = (system ?? '').trim().toLowerCase().replace(/_/g, '-');
  return tag === 'zh' || tag.startsWith('zh-') ? 'zh-CN' : 'en';
}
