// The UI's one door to the shell. Only this module imports the generated bindings and `@tauri-apps/*`
// (anchors §2): components and stores see plain functions, plain types and `UiError`.
import { Channel } from '@tauri-apps/api/core';
import { listen, type UnlistenFn } from '@tauri-apps/api/event';
import { getCurrentWebview } from '@tauri-apps/api/webview';
import { commands, type IpcError, type Result } from './bindings';
import type {
  AddReport,
  AppInfo,
  ConnectionReport,
  ErrorCode,
  IntegrationStatus,
  MoveTo,
  ProfileDto,
  ProfileInput,
  ProviderDto,
  CredentialFieldDto,
  DeviceSignInDto,
  QueueEventDto,
  ReceivedBatch,
  SendToTarget,
  Settings,
  TaskAction,
  TaskDto,
  TaskProgressDto,
  TaskState,
} from './bindings';

// Re-exported so the rest of the UI never names `bindings.ts`. Helper types are derived by indexed access, so
// they keep working whether tauri-specta names the nested types or inlines them.
export type {
  AddReport,
  AppInfo,
  ConnectionReport,
  ErrorCode,
  IntegrationStatus,
  MoveTo,
  ProfileDto,
  ProfileInput,
  ProviderDto,
  CredentialFieldDto,
  DeviceSignInDto,
  QueueEventDto,
  ReceivedBatch,
  SendToTarget,
  Settings,
  TaskAction,
  TaskDto,
  TaskProgressDto,
  TaskState,
};
export type Language = Settings['language'];
export type Theme = Settings['theme'];
export type DuplicateChoice = Settings['duplicate'];
export type Phase = TaskProgressDto['phase'];
export type UnlistenFunction = UnlistenFn;

/** What a failed command turns into. `code` is the closed IPC enum, or `unexpected` when the failure did not
 *  come from our commands (a plugin's string error, a missing command, a permission the shell did not grant). */
export class UiError extends Error {
  readonly code: ErrorCode | 'unexpected';
  constructor(code: ErrorCode | 'unexpected', message: string) {
    super(message);
    this.name = 'UiError';
    this.code = code;
  }
}

function isIpcError(e: unknown): e is IpcError {
  return typeof e === 'object' && e !== null && typeof (e as IpcError).code === 'string' && typeof (e as IpcError).message === 'string';
}

/** Turns a raw rejection (IpcError object, bare string, Error) into a `UiError`. */
export function toUiError(e: unknown): UiError {
  if (e instanceof UiError) return e;
  if (isIpcError(e)) return new UiError(e.code, e.message);
  if (e instanceof Error) return new UiError('unexpected', e.message);
  return new UiError('unexpected', String(e));
}

async function call<T>(pending: Promise<Result<T, IpcError>>): Promise<T> {
  let result: Result<T, IpcError>;
  try {
    result = await pending;
  } catch (e) {
    // The bindings rethrow `Error`s (a bug on our side, or no Tauri at all); still report them as UiError.
    throw toUiError(e);
  }
  if (result.status === 'ok') return result.data;
  throw toUiError(result.error);
}

export const api = {
  appInfo: (): Promise<AppInfo> => call(commands.appInfo()),

  /** Opens the queue channel. The shell sends a snapshot at once, then state / progress / batch messages. */
  async subscribeQueue(onEvent: (e: QueueEventDto) => void): Promise<void> {
    const channel = new Channel<QueueEventDto>();
    channel.onmessage = onEvent;
    await call(commands.queueSubscribe(channel));
  },

  addPaths: (paths: string[], profileId: string | null, remoteDir: string | null): Promise<AddReport> =>
    call(commands.queueAddPaths(paths, profileId, remoteDir)),
  addTorrents: (paths: string[], profileId: string | null): Promise<AddReport> =>
    call(commands.offlineAddTorrents(paths, profileId)),

  pause: (ids: number[]) => call(commands.queuePause(ids)),
  resume: (ids: number[]) => call(commands.queueResume(ids)),
  cancel: (ids: number[]) => call(commands.queueCancel(ids)),
  retry: (ids: number[]) => call(commands.queueRetry(ids)),
  remove: (ids: number[]) => call(commands.queueRemove(ids)),
  move: (ids: number[], to: MoveTo) => call(commands.queueMove(ids, to)),
  pauseAll: () => call(commands.queuePauseAll()),
  resumeAll: () => call(commands.queueResumeAll()),
  retryFailed: (): Promise<number> => call(commands.queueRetryFailed()),
  clearFinished: (): Promise<number> => call(commands.queueClearFinished()),

  profiles: (): Promise<ProfileDto[]> => call(commands.profilesList()),
  saveProfile: (input: ProfileInput): Promise<ProfileDto> => call(commands.profileSave(input)),
  removeProfile: (id: string) => call(commands.profileRemove(id)),
  activateProfile: (id: string) => call(commands.profileActivate(id)),
  testProfile: (id: string): Promise<ConnectionReport> => call(commands.profileTest(id)),
  startSandbox: (): Promise<ProfileDto> => call(commands.sandboxStart()),
  /** Sign-in by a code entered at the cloud's website: the code to show (the shell keeps the rest). */
  deviceSignInStart: (provider: string, endpoint: string | null): Promise<DeviceSignInDto> =>
    call(commands.deviceSignInStart(provider, endpoint)),
  /** Waits until the user has entered the code, then saves the account (`input.secret` is ignored). */
  deviceSignInFinish: (id: number, input: ProfileInput): Promise<ProfileDto> => call(commands.deviceSignInFinish(id, input)),
  deviceSignInCancel: (id: number) => call(commands.deviceSignInCancel(id)),

  /** Send to PanDrop: the UI listens from now on; answers the batches that arrived before it did. */
  sendToReady: (): Promise<ReceivedBatch[]> => call(commands.sendtoReady()),
  sendToConfirm: (batchId: number, profileId: string | null, remoteDir: string | null, remember: boolean): Promise<AddReport> =>
    call(commands.sendtoConfirm(batchId, profileId, remoteDir, remember)),
  sendToDismiss: (batchId: number) => call(commands.sendtoDismiss(batchId)),
  sendToTarget: (): Promise<SendToTarget | null> => call(commands.sendtoTarget()),
  sendToForget: () => call(commands.sendtoForget()),
  integrationStatus: (): Promise<IntegrationStatus> => call(commands.integrationStatus()),
  integrationInstall: (): Promise<IntegrationStatus> => call(commands.integrationInstall()),
  integrationUninstall: (): Promise<IntegrationStatus> => call(commands.integrationUninstall()),

  settings: (): Promise<Settings> => call(commands.settingsGet()),
  saveSettings: (s: Settings): Promise<Settings> => call(commands.settingsSet(s)),

  /** The native file dialog, opened by the shell (which then lets the page queue what was picked); `null` when
   *  the user cancelled. */
  pickPaths: (directory: boolean, title: string): Promise<string[] | null> => call(commands.pickPaths(directory, title)),

  /** Files dragged from the OS onto the window. Tauri gives real paths (the web `drop` event does not). */
  onDragDrop(handler: (e: DragDrop) => void): Promise<UnlistenFn> {
    return getCurrentWebview().onDragDropEvent((event) => {
      const p = event.payload;
      if (p.type === 'enter') handler({ type: 'enter', paths: p.paths });
      else if (p.type === 'over') handler({ type: 'over' });
      else if (p.type === 'drop') handler({ type: 'drop', paths: p.paths });
      else handler({ type: 'leave' });
    });
  },

  /** The file manager or a second launch (Send to → PanDrop) handed paths to this instance. */
  onPathsReceived(handler: (batch: ReceivedBatch) => void): Promise<UnlistenFn> {
    return listen<{ batch: ReceivedBatch }>('paths-received', (e) => handler(e.payload.batch));
  },

  /** The tray menu paused or resumed everything (the queue channel shows the rows; this is for the announcement). */
  onTrayPauseAll(handler: (paused: boolean) => void): Promise<UnlistenFn[]> {
    return Promise.all([
      listen('queue-paused-all', () => handler(true)),
      listen('queue-resumed-all', () => handler(false)),
    ]);
  },
};

export type Api = typeof api;

export type DragDrop =
  | { type: 'enter'; paths: string[] }
  | { type: 'over' }
  | { type: 'drop'; paths: string[] }
  | { type: 'leave' };
