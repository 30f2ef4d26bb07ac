import {
  api as defaultApi,
  type Api,
  type AppInfo,
  type ConnectionReport,
  type DeviceSignInDto,
  type ProfileDto,
  type ProfileInput,
  type ProviderDto,
} from '../api';
import { Notices } from './notices.svelte';

/** A sign-in by a code entered at the cloud's website, as the account form runs it. */
export interface DeviceSignInFlow {
  /** Asks the cloud for a code; rejects with the shell's `UiError`. */
  start(provider: string, endpoint: string | null): Promise<DeviceSignInDto>;
  /** Waits until the user has entered the code, then saves the account. */
  finish(id: number, input: ProfileInput): Promise<ProfileDto>;
  /** Stops a sign-in; a waiting `finish` rejects with `cancelled`. */
  cancel(id: number): Promise<void>;
}

/** Profiles (accounts), the active one, and where new uploads go. */
export class AccountsStore {
  #api: Api;
  #notices: Notices;
  profiles: ProfileDto[] = $state.raw([]);
  loaded = $state(false);
  /** The last "Test connection" answer per profile id; the list shows it as connected / the server's words. */
  reports: Record<string, ConnectionReport> = $state({});
  testing: string | null = $state(null);
  keyring: AppInfo['keyring'] = $state.raw({ available: true, message: null });
  /** The clouds an account can be made for, with the credential fields each needs (from the engine). */
  providers: ProviderDto[] = $state.raw([]);
  /** Folder chosen in the top bar for new uploads; null means the active profile's default folder. */
  targetDir: string | null = $state(null);

  active: ProfileDto | null = $derived(this.profiles.find((p) => p.active) ?? null);
  effectiveDir: string | null = $derived(this.targetDir ?? this.active?.defaultDir ?? null);

  /** Sign-ins by a code entered at the cloud's website (clouds whose provider `signsInByDevice`). */
  readonly deviceSignIn: DeviceSignInFlow = {
    start: (provider, endpoint) => this.#api.deviceSignInStart(provider, endpoint),
    finish: async (id, input) => {
      const saved = await this.#api.deviceSignInFinish(id, input);
      delete this.reports[saved.id];
      await this.refresh();
      return saved;
    },
    cancel: async (id) => {
      await this.#api.deviceSignInCancel(id);
    },
  };

  constructor(api: Api = defaultApi, notices: Notices = new Notices()) {
    this.#api = api;
    this.#notices = notices;
  }

  async refresh(): Promise<void> {
    const list = await this.#notices.guard(this.#api.profiles());
    if (list) {
      this.profiles = list;
      this.loaded = true;
    }
  }

  /** Saves and returns the profile, or throws the `UiError` so the form can show it beside its fields. */
  async save(input: ProfileInput): Promise<ProfileDto> {
    const saved = await this.#api.saveProfile(input);
    // A changed secret or endpoint makes the old test answer stale.
    delete this.reports[saved.id];
    await this.refresh();
    return saved;
  }

  async remove(id: string): Promise<void> {
    await this.#notices.guard(this.#api.removeProfile(id));
    delete this.reports[id];
    await this.refresh();
  }

  async activate(id: string): Promise<void> {
    await this.#notices.guard(this.#api.activateProfile(id));
    this.targetDir = null; // the folder belonged to the previous account
    await this.refresh();
  }

  async test(id: string): Promise<void> {
    this.testing = id;
    try {
      this.reports[id] = await this.#api.testProfile(id);
    } catch (e) {
      // A command failure (keyring locked, no such profile) is still the answer to "does it connect?".
      this.reports[id] = { ok: false, message: e instanceof Error ? e.message : String(e) };
    } finally {
      this.testing = null;
    }
  }

  async startSandbox(): Promise<void> {
    const p = await this.#notices.guard(this.#api.startSandbox());
    if (p) await this.refresh();
  }
}

