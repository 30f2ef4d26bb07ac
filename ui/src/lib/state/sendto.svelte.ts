import { api as defaultApi, type Api, type IntegrationStatus, type ReceivedBatch, type SendToTarget } from '../api';
import type { AccountsStore } from './accounts.svelte';
import { announceAdded } from './intake.svelte';
import type { I18n } from './i18n.svelte';
import type { Notices } from './notices.svelte';

/** "Send to PanDrop": batches the file manager handed over. The shell has already walked them; a batch that
 *  went to the remembered target is only announced, the others wait here for the confirm sheet, oldest first. */
export class SendToStore {
  #api: Api;
  #accounts: AccountsStore;
  #notices: Notices;
  #i18n: I18n;
  /** Batches waiting for an answer; the sheet shows the first. */
  waiting: ReceivedBatch[] = $state([]);
  /** Where "always use this" sends batches; null: ask each time. */
  target: SendToTarget | null = $state(null);
  /** The file-manager entries (Settings). */
  integration: IntegrationStatus | null = $state(null);
  busy = $state(false);

  current: ReceivedBatch | null = $derived(this.waiting[0] ?? null);

  constructor(accounts: AccountsStore, notices: Notices, i18n: I18n, api: Api = defaultApi) {
    this.#api = api;
    this.#accounts = accounts;
    this.#notices = notices;
    this.#i18n = i18n;
  }

  /** Tells the shell the UI listens, and takes what arrived before. Call once every listener is in place. */
  async ready(): Promise<void> {
    const early = await this.#notices.guard(this.#api.sendToReady());
    early?.forEach((b) => this.receive(b));
  }

  receive(batch: ReceivedBatch): void {
    const t = this.#i18n.t;
    if (batch.sent) {
      const name = this.#accounts.profiles.find((p) => p.id === batch.sent?.profileId)?.name ?? batch.sent.profileId;
      this.#notices.announce(t.sendTo.sentTo(batch.sent.added, name, batch.sent.remoteDir));
      announceAdded(this.#notices, this.#i18n, { added: 0, rejected: batch.rejected });
      return;
    }
    if (batch.files === 0) {
      // Nothing to ask about: say why instead of opening an empty sheet.
      announceAdded(this.#notices, this.#i18n, { added: 0, rejected: batch.rejected });
      return;
    }
    // The shell hands waiting batches to every `ready` (a reloaded page); one sheet per batch.
    if (this.waiting.some((b) => b.id === batch.id)) return;
    this.waiting = [...this.waiting, batch];
  }

  /** Sends the current batch; with `remember`, later batches go to the same place without asking. */
  async confirm(profileId: string | null, remoteDir: string | null, remember: boolean): Promise<void> {
    const batch = this.current;
    if (!batch || this.busy) return;
    this.busy = true;
    try {
      const report = await this.#notices.guard(this.#api.sendToConfirm(batch.id, profileId, remoteDir, remember));
      if (!report) return;
      this.waiting = this.waiting.filter((b) => b.id !== batch.id);
      announceAdded(this.#notices, this.#i18n, report);
      if (remember) await this.loadTarget();
    } finally {
      this.busy = false;
    }
  }

  /** Drops the current batch: nothing is uploaded. */
  async dismiss(): Promise<void> {
    const batch = this.current;
    if (!batch) return;
    this.waiting = this.waiting.filter((b) => b.id !== batch.id);
    await this.#notices.guard(this.#api.sendToDismiss(batch.id));
  }

  async loadTarget(): Promise<void> {
    const target = await this.#notices.guard(this.#api.sendToTarget());
    if (target !== undefined) this.target = target;
  }

  async forgetTarget(): Promise<void> {
    await this.#notices.guard(this.#api.sendToForget());
    this.target = null;
  }

  async loadIntegration(): Promise<void> {
    const status = await this.#notices.guard(this.#api.integrationStatus());
    if (status) this.integration = status;
  }

  async setIntegration(install: boolean): Promise<void> {
    this.busy = true;
    try {
      const status = await this.#notices.guard(install ? this.#api.integrationInstall() : this.#api.integrationUninstall());
      if (!status) return;
      this.integration = status;
      this.#notices.announce(install ? this.#i18n.t.sendTo.installed : this.#i18n.t.sendTo.removed);
    } finally {
      this.busy = false;
    }
  }
}
