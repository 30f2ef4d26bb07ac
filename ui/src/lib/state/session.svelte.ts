// One app session: the stores, wired to the shell. App.svelte creates one; tests create their own with a
// mocked IPC, so no state leaks between them. Start-up order matters: app info and settings come first (they
// decide the language before anything is drawn), then accounts, the queue channel and the window's drops,
// and last the files sent from the file manager before the window was ready.
import { api as defaultApi, type Api, type QueueEventDto } from '../api';
import { AccountsStore } from './accounts.svelte';
import { Dialogs } from './dialogs.svelte';
import { i18n } from './i18n.svelte';
import { Intake } from './intake.svelte';
import { Notices } from './notices.svelte';
import { QueueStore } from './queue.svelte';
import { SendToStore } from './sendto.svelte';
import { SettingsStore } from './settings.svelte';

export function createSession(api: Api = defaultApi) {
  const notices = new Notices();
  const accounts = new AccountsStore(api, notices);
  const settings = new SettingsStore(api, notices);
  const queue = new QueueStore(api, notices);
  const dialogs = new Dialogs();
  const intake = new Intake(accounts, notices, i18n, api);
  const sendTo = new SendToStore(accounts, notices, i18n, api);
  const appInfo = $state({ version: '', sandboxUrl: null as string | null });

  function onQueueEvent(e: QueueEventDto): void {
    queue.apply(e);
    if (e.kind === 'batch_finished') notices.announce(i18n.t.live.batchFinished(e.uploaded, e.instant, e.failed));
  }

  /** Loads everything and subscribes; resolves to a stop function. Failures become notices, never a blank app. */
  async function start(): Promise<() => void> {
    const unlisten: (() => void)[] = [];
    const info = await notices.guard(api.appInfo());
    if (info) {
      i18n.systemLocale = info.systemLocale;
      accounts.keyring = info.keyring;
      accounts.providers = info.providers;
      appInfo.version = info.version;
      appInfo.sandboxUrl = info.sandboxUrl;
    }
    await Promise.all([settings.load(), accounts.refresh()]);

    // Window integrations are extras: without them (a plain browser, a denied permission) the app still works.
    const drop = await api.onDragDrop((e) => intake.onDragDrop(e)).catch(() => null);
    if (drop) unlisten.push(drop);
    const received = await api.onPathsReceived((batch) => sendTo.receive(batch)).catch(() => null);
    if (received) unlisten.push(received);
    const tray = await api
      .onTrayPauseAll((paused) => notices.announce(paused ? i18n.t.live.pausedAll : i18n.t.live.resumedAll))
      .catch(() => null);
    if (tray) unlisten.push(...tray);
    // Last: by now every listener is in place, so nothing the snapshot triggers can be missed.
    await notices.guard(api.subscribeQueue(onQueueEvent));
    // Files sent before the window was ready waited in the shell until now.
    if (received) void sendTo.ready();
    return () => unlisten.forEach((u) => u());
  }

  return { notices, accounts, settings, queue, dialogs, intake, sendTo, appInfo, i18n, start };
}

export type Session = ReturnType<typeof createSession>;
