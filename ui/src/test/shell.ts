// A fake shell for component tests: answers the commands of docs/ipc.md from in-memory state through
// `mockIPC`, keeps the queue channel, and records every call. Messages reach the UI the way Tauri delivers
// them: through the channel's callback id with a running index.
import { mockIPC, mockWindows } from '@tauri-apps/api/mocks';
import type { AppInfo, ProfileDto, QueueEventDto, Settings, TaskDto } from '../lib/api';
import { providers, settingsFixture } from './fixtures';

type Channel = { id: number };

export type FakeShell = {
  calls: { cmd: string; args: Record<string, unknown> }[];
  tasks: TaskDto[];
  profiles: ProfileDto[];
  settings: Settings;
  info: AppInfo;
  /** Sends a message on the queue channel. */
  send(msg: QueueEventDto): void;
  /** Overrides one command's answer; throw an `{code, message}` object to make it fail. */
  on(cmd: string, answer: (args: Record<string, unknown>) => unknown): void;
  called(cmd: string): Record<string, unknown>[];
};

export function fakeShell(init: { tasks?: TaskDto[]; profiles?: ProfileDto[]; settings?: Partial<Settings>; info?: Partial<AppInfo> } = {}): FakeShell {
  let channel: Channel | null = null;
  let index = 0;
  const overrides = new Map<string, (args: Record<string, unknown>) => unknown>();
  const shell: FakeShell = {
    calls: [],
    tasks: init.tasks ?? [],
    profiles: init.profiles ?? [],
    settings: { ...settingsFixture, ...init.settings },
    info: {
      version: '0.1.0',
      dataDir: '/tmp/pandrop',
      systemLocale: 'en-US',
      keyring: { available: true, message: null },
      sandboxUrl: null,
      providers,
      ...init.info,
    },
    send(msg) {
      if (!channel) throw new Error('the UI has not subscribed to the queue');
      window.__TAURI_INTERNALS__.runCallback(channel.id, { index: index++, message: msg });
    },
    on(cmd, answer) {
      overrides.set(cmd, answer);
    },
    called(cmd) {
      return shell.calls.filter((c) => c.cmd === cmd).map((c) => c.args);
    },
  };

  mockWindows('main');
  mockIPC(
    (cmd, raw) => {
      const args = (raw ?? {}) as Record<string, unknown>;
      shell.calls.push({ cmd, args });
      const o = overrides.get(cmd);
      if (o) return o(args);
      switch (cmd) {
        case 'app_info':
          return shell.info;
        case 'settings_get':
          return shell.settings;
        case 'settings_set':
          shell.settings = args.settings as Settings;
          return shell.settings;
        case 'profiles_list':
          return shell.profiles;
        case 'queue_subscribe':
          channel = args.onEvent as Channel;
          index = 0;
          queueMicrotask(() => shell.send({ kind: 'snapshot', tasks: shell.tasks }));
          return null;
        case 'queue_add_paths':
          return { added: (args.paths as string[]).length, rejected: [] };
        case 'offline_add_torrents':
          return { added: (args.paths as string[]).length, rejected: [] };
        case 'sandbox_start': {
          const p: ProfileDto = {
            id: 'sandbox', provider: '123pan', name: 'Sandbox', endpoint: 'http://127.0.0.1:1', defaultDir: '/',
            fields: {}, hasSecret: true, sandbox: true, active: true, signedInByCode: false,
          };
          shell.profiles = [p];
          return p;
        }
        case 'device_sign_in_start':
          return { id: 7, userCode: 'WDJB-MJHT', verificationUri: 'https://www.2dland.cn/device', expiresInSecs: 600 };
        case 'device_sign_in_finish': {
          const input = args.input as { provider: string; name: string; endpoint: string | null; defaultDir: string };
          const p: ProfileDto = {
            id: `signed-in-${args.id}`, provider: input.provider, name: input.name, endpoint: input.endpoint ?? 'https://openapi.2dland.cn',
            defaultDir: input.defaultDir, fields: {}, hasSecret: true, sandbox: false, active: false, signedInByCode: true,
          };
          shell.profiles = [...shell.profiles, p];
          return p;
        }
        case 'pick_paths':
          return ['/home/me/a.txt', '/home/me/b.txt'];
        case 'queue_retry_failed':
        case 'queue_clear_finished':
          return 0;
        case 'sendto_ready':
          return [];
        case 'sendto_confirm':
          return { added: 1, rejected: [] };
        case 'sendto_target':
          return null;
        case 'integration_status':
        case 'integration_uninstall':
          return { supported: true, installed: false, entries: [] };
        case 'integration_install':
          return { supported: true, installed: true, entries: ['/home/me/.local/share/applications/PanDrop.desktop'] };
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
  return shell;
}

declare global {
  interface Window {
    __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } & Record<string, unknown>;
  }
}
