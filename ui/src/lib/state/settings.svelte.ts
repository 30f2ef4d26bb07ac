import { api as defaultApi, type Api, type Settings } from '../api';
import { Notices } from './notices.svelte';

/** What the UI assumes until `settings_get` answers (the engine's own defaults are the truth). */
export const DEFAULT_SETTINGS: Settings = {
  filesInParallel: 3,
  slicesPerFile: 4,
  speedLimit: null,
  duplicate: 'keep_both',
  language: 'system',
  theme: 'system',
};

export class SettingsStore {
  #api: Api;
  #notices: Notices;
  value: Settings = $state.raw(DEFAULT_SETTINGS);
  loaded = $state(false);

  constructor(api: Api = defaultApi, notices: Notices = new Notices()) {
    this.#api = api;
    this.#notices = notices;
  }

  async load(): Promise<void> {
    const s = await this.#notices.guard(this.#api.settings());
    if (s) {
      this.value = s;
      this.loaded = true;
    }
  }

  /** Saves; the shell validates and answers with what it applied, which may differ (e.g. clamped numbers).
   *  Throws the `UiError` so the dialog stays open with the message. */
  async save(next: Settings): Promise<Settings> {
    this.value = await this.#api.saveSettings(next);
    return this.value;
  }

  async setSpeedLimit(bytesPerSec: number | null): Promise<void> {
    await this.#notices.guard(this.save({ ...this.value, speedLimit: bytesPerSec }));
  }
}

