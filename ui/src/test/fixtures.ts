import type { ProfileDto, ProviderDto, Settings, TaskAction, TaskDto, TaskProgressDto, TaskState } from '../lib/api';
import lifecycle from './lifecycle.json';
import registry from './providers.json';

/** The clouds, as the shell sends them in `app_info` (written from the engine's registry). */
export const providers: ProviderDto[] = registry;

let nextId = 1;

/** What the engine's lifecycle allows per state, written from the engine by the shell's bindings test; the
 *  running app gets `allowedActions` from the shell with every row. */
const ALLOWED = lifecycle as Record<TaskState, TaskAction[]>;

export function task(over: Partial<TaskDto> = {}): TaskDto {
  const id = over.id ?? nextId++;
  return {
    id,
    name: `file-${id}.bin`,
    localPath: `/home/me/file-${id}.bin`,
    size: 1024 * 1024,
    profileId: 'p1',
    remoteDir: '/照片/2026',
    state: 'queued',
    bytesDone: 0,
    error: null,
    remoteId: null,
    position: id,
    attempts: 0,
    allowedActions: ALLOWED[over.state ?? 'queued'],
    bytesHeld: 0,
    ...over,
  };
}

export function progress(id: number, over: Partial<TaskProgressDto> = {}): TaskProgressDto {
  return { id, phase: 'uploading', done: 512 * 1024, total: 1024 * 1024, bytesPerSec: 1024 * 1024, etaSecs: 1, ...over };
}

export function profile(over: Partial<ProfileDto> = {}): ProfileDto {
  return {
    id: 'p1',
    provider: '123pan',
    name: '我的账号',
    endpoint: 'https://open-api.123pan.com',
    defaultDir: '/照片/2026',
    fields: { client_id: 'cid' },
    hasSecret: true,
    signedInByCode: false,
    sandbox: false,
    active: true,
    ...over,
  };
}

export const settingsFixture: Settings = {
  filesInParallel: 3,
  slicesPerFile: 4,
  speedLimit: null,
  duplicate: 'keep_both',
  language: 'en',
  theme: 'system',
};
