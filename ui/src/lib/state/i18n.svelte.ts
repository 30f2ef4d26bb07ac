import { MESSAGES, resolveLocale, type Locale, type Messages } from '../i18n';
import type { Language } from '../api';

/** The current language. It follows the system (`AppInfo.systemLocale`) unless `Settings.language` picks one. */
export class I18n {
  systemLocale = $state('en');
  choice = $state<Language>('system');
  locale: Locale = $derived(this.choice === 'system' ? resolveLocale(this.systemLocale) : this.choice);
  t: Messages = $derived(MESSAGES[this.locale]);
}

export const i18n = new I18n();
