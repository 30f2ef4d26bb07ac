// Wiring between the shell and the stores, done once at start-up: app info and settings first (they decide the
// language before anything is drawn), then accounts, the queue channel and the window's drag-and-drop.
import { api as defaultApi, type Api, type QueueEventDto } from '../api';
import { accounts } from './accounts.svelte';
import { dialogs } from './dialogs.svelte';
import { i18n } from './i18n.svelte';
import { Intake } from './intake.svelte';
import { notices } from './notices.svelte';
import { queue } from './queue.svelte';
import { settings } from './settings.svelte';

export const intake = new Intake(accounts, notices, i18n);

export const session = {
  queue,
  accounts,
  settings,
  notices,
  dialogs,
  i18n,
  intake,
};

export type AppInfoState = { version: string; sandboxUrl: string | null };
export const appInfo: AppInfoState = $state({ version: '', sandboxUrl: null });

function onQueueEvent(e: QueueEventDto): void {
  queue.apply(e);
  if (e.kind === 'batch_finished') notices.announce(i18n.t.live.batchFinished(e.uploaded, e.instant, e.failed));
}

/** Starts everything; resolves when the first data is requested. Failures become notices, never a blank app. */
export async function startSession(api: Api = defaultApi): Promise<() => void> {
  const unlisten: (() => void)[] = [];
  const info = await notices.guard(api.appInfo());
  if (info) {
    i18n.systemLocale = info.systemLocale;
    accounts.keyring = info.keyring;
    appInfo.version = info.version;
    appInfo.sandboxUrl = info.sandboxUrl;
  }
  await Promise.all([settings.load(), accounts.refresh()]);
  await notices.guard(api.subscribeQueue(onQueueEvent));

  // Window integrations are optional extras: without them (e.g. a plain browser) the app still works.
  const drop = await api.onDragDrop((e) => intake.onDragDrop(e)).catch(() => null);
  if (drop) unlisten.push(drop);
  const received = await api.onPathsReceived((paths) => void intake.add(paths)).catch(() => null);
  if (received) unlisten.push(received);
  const tray = await api
    .onTrayPauseAll((paused) => notices.announce(paused ? i18n.t.live.pausedAll : i18n.t.live.resumedAll))
    .catch(() => null);
  if (tray) unlisten.push(...tray);

  return () => unlisten.forEach((u) => u());
}
