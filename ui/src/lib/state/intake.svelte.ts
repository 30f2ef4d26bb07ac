import { api as defaultApi, type AddReport, type Api } from '../api';
import type { AccountsStore } from './accounts.svelte';
import type { I18n } from './i18n.svelte';
import type { Notices } from './notices.svelte';

const isTorrent = (p: string) => /\.torrent$/i.test(p);

/** What adding did, told to the user: the count in the live region, refused paths as one notice. */
export function announceAdded(notices: Notices, i18n: I18n, report: AddReport): void {
  const t = i18n.t;
  if (report.added > 0) notices.announce(t.live.added(report.added));
  if (report.rejected.length > 0) {
    notices.error(
      { code: 'invalid_input', message: t.live.rejected(report.rejected.length) },
      report.rejected.map((r) => t.errors.rejectedPath(r.path, r.message)),
    );
  }
}

export type TorrentQuestion = { torrents: string[]; others: string[] };

/** What puts paths into the queue from the window: the native pickers and files dropped on it (files sent from
 *  the file manager go through `SendToStore`). The UI never reads files; it hands paths to the engine. */
export class Intake {
  #api: Api;
  #accounts: AccountsStore;
  #notices: Notices;
  #i18n: I18n;
  /** A drag from the OS is over the window: the overlay names where the files will go. */
  dragging = $state(false);
  /** `.torrent` files bound for 6pan wait here for one answer: upload them as files, or download offline. */
  torrentQuestion: TorrentQuestion | null = $state(null);

  constructor(accounts: AccountsStore, notices: Notices, i18n: I18n, api: Api = defaultApi) {
    this.#api = api;
    this.#accounts = accounts;
    this.#notices = notices;
    this.#i18n = i18n;
  }

  async add(paths: string[]): Promise<void> {
    if (paths.length === 0) return;
    const provider = this.#accounts.active?.provider;
    const torrents = paths.filter(isTorrent);
    if (torrents.length > 0 && provider?.startsWith('6pan')) {
      this.torrentQuestion = { torrents, others: paths.filter((p) => !isTorrent(p)) };
      return;
    }
    await this.#upload(paths);
  }

  async answerTorrents(choice: 'upload' | 'offline' | 'cancel'): Promise<void> {
    const q = this.torrentQuestion;
    this.torrentQuestion = null;
    if (!q) return;
    if (choice === 'cancel') {
      // Cancel drops only the question's subject; the other files of the same drop still go up.
      if (q.others.length) await this.#upload(q.others);
      return;
    }
    if (choice === 'upload') {
      await this.#upload([...q.others, ...q.torrents]);
      return;
    }
    if (q.others.length) await this.#upload(q.others);
    const report = await this.#notices.guard(this.#api.addTorrents(q.torrents, null));
    if (report) this.#report(report);
  }

  async pick(directory: boolean): Promise<void> {
    const t = this.#i18n.t;
    const paths = await this.#notices.guard(this.#api.pickPaths(directory, directory ? t.pickFolderTitle : t.pickFilesTitle));
    if (paths && paths.length) await this.add(paths);
  }

  async #upload(paths: string[]): Promise<void> {
    const report = await this.#notices.guard(this.#api.addPaths(paths, null, this.#accounts.targetDir));
    if (report) this.#report(report);
  }

  #report(report: AddReport): void {
    announceAdded(this.#notices, this.#i18n, report);
  }

  /** Tauri's window drag events. `over` repeats while moving; only enter/leave/drop change anything. */
  onDragDrop(e: { type: 'enter'; paths: string[] } | { type: 'over' } | { type: 'drop'; paths: string[] } | { type: 'leave' }): void {
    if (e.type === 'enter' || e.type === 'over') this.dragging = true;
    else if (e.type === 'leave') this.dragging = false;
    else {
      this.dragging = false;
      void this.add(e.paths);
    }
  }
}
