import { mockIPC } from '@tauri-apps/api/mocks';
import { beforeEach, describe, expect, it } from 'vitest';
import { progress, task } from '../../test/fixtures';
import { Notices } from './notices.svelte';
import { QueueStore, filterOf, rowProgress } from './queue.svelte';
import { api } from '../api';

let calls: { cmd: string; args: unknown }[];
let notices: Notices;
let q: QueueStore;

beforeEach(() => {
  calls = [];
  mockIPC((cmd, args) => {
    calls.push({ cmd, args });
    if (cmd === 'queue_retry_failed' || cmd === 'queue_clear_finished') return 2;
    if (cmd === 'queue_pause') throw { code: 'not_found', message: 'no such task' };
    return null;
  });
  notices = new Notices();
  q = new QueueStore(api, notices);
});

const snapshot = (...tasks: ReturnType<typeof task>[]) => q.apply({ kind: 'snapshot', tasks });

describe('applying channel messages', () => {
  it('orders a snapshot by queue position', () => {
    snapshot(task({ id: 3, position: 30 }), task({ id: 1, position: 10 }), task({ id: 2, position: 20 }));
    expect(q.loaded).toBe(true);
    expect(q.order).toEqual([1, 2, 3]);
    expect(q.row(2)?.task.position).toBe(20);
  });

  it('replaces a row on a state message, and re-sorts when its position changed', () => {
    snapshot(task({ id: 1, position: 1 }), task({ id: 2, position: 2 }));
    q.apply({ kind: 'state', task: task({ id: 2, position: 0, state: 'hashing' }) });
    expect(q.row(2)?.task.state).toBe('hashing');
    expect(q.order).toEqual([2, 1]);
  });

  it('inserts a task it has not seen yet at its position', () => {
    snapshot(task({ id: 1, position: 1 }), task({ id: 3, position: 3 }));
    q.apply({ kind: 'state', task: task({ id: 2, position: 2 }) });
    expect(q.order).toEqual([1, 2, 3]);
  });

  it('keeps row objects across snapshots (cells survive a reorder)', () => {
    snapshot(task({ id: 1, position: 1 }), task({ id: 2, position: 2 }));
    const row = q.row(1);
    snapshot(task({ id: 2, position: 1 }), task({ id: 1, position: 2 }));
    expect(q.row(1)).toBe(row);
    expect(q.order).toEqual([2, 1]);
  });

  it('applies absolute progress and sums upload speed, not hashing speed', () => {
    snapshot(task({ id: 1, state: 'uploading' }), task({ id: 2, state: 'hashing' }), task({ id: 3 }));
    q.apply({
      kind: 'progress',
      tasks: [progress(1, { bytesPerSec: 3000 }), progress(2, { phase: 'hashing', bytesPerSec: 400_000 })],
    });
    expect(q.row(1)?.progress?.bytesPerSec).toBe(3000);
    expect(q.speed).toBe(3000);
    // The next message leaves task 1 out: it stopped, its speed must not linger.
    q.apply({ kind: 'progress', tasks: [progress(2, { phase: 'hashing' })] });
    expect(q.row(1)?.progress).toBeNull();
    expect(q.speed).toBe(0);
  });

  it('drops progress when a task stops running', () => {
    snapshot(task({ id: 1, state: 'uploading' }));
    q.apply({ kind: 'progress', tasks: [progress(1, { bytesPerSec: 10 })] });
    q.apply({ kind: 'state', task: task({ id: 1, state: 'paused', bytesDone: 300 }) });
    expect(q.row(1)?.progress).toBeNull();
    expect(q.speed).toBe(0);
  });

  it('ignores progress for unknown rows', () => {
    snapshot(task({ id: 1, state: 'uploading' }));
    q.apply({ kind: 'progress', tasks: [progress(99)] });
    expect(q.speed).toBe(0);
  });
});

describe('filters, counts and totals', () => {
  beforeEach(() => {
    snapshot(
      task({ id: 1, state: 'queued' }),
      task({ id: 2, state: 'paused' }),
      task({ id: 3, state: 'uploading' }),
      task({ id: 4, state: 'done', bytesHeld: 700 }),
      task({ id: 5, state: 'instant', size: 5000 }),
      task({ id: 6, state: 'failed', error: { code: 'network', message: 'offline' } }),
      task({ id: 7, state: 'cancelled' }),
    );
  });

  it('counts every filter', () => {
    expect(q.counts).toMatchObject({ all: 7, active: 1, waiting: 2, done: 3, failed: 1, uploaded: 2, instant: 1, bytesSaved: 5700 });
  });

  it('filters the visible rows', () => {
    q.setFilter('waiting');
    expect(q.visible).toEqual([1, 2]);
    q.setFilter('done');
    expect(q.visible).toEqual([4, 5, 7]);
    q.setFilter('all');
    expect(q.visible).toHaveLength(7);
  });

  it('recounts when a state changes', () => {
    q.apply({ kind: 'state', task: task({ id: 6, state: 'queued' }) });
    expect(q.counts.failed).toBe(0);
    expect(q.counts.waiting).toBe(3);
  });

  it('maps states to filters', () => {
    expect(filterOf('completing')).toBe('active');
    expect(filterOf('paused')).toBe('waiting');
    expect(filterOf('cancelled')).toBe('done');
  });
});

describe('selection', () => {
  beforeEach(() => snapshot(...[1, 2, 3, 4, 5].map((id) => task({ id }))));

  it('selects one on click, toggles with Ctrl, ranges with Shift', () => {
    q.click(2);
    expect([...q.selected]).toEqual([2]);
    q.click(4, { ctrl: true });
    expect([...q.selected].sort()).toEqual([2, 4]);
    q.click(2, { ctrl: true });
    expect([...q.selected]).toEqual([4]);
    q.click(1);
    q.click(3, { shift: true });
    expect([...q.selected].sort()).toEqual([1, 2, 3]);
    q.click(5, { shift: true, ctrl: true });
    expect([...q.selected].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('selects all visible and clears', () => {
    q.selectAll();
    expect(q.selected.size).toBe(5);
    q.clearSelection();
    expect(q.selected.size).toBe(0);
  });

  it('moves the cursor with the arrow keys and extends with Shift', () => {
    q.step(1);
    expect(q.cursor).toBe(1);
    q.step(1);
    q.step(1, { shift: true });
    expect([...q.selected].sort()).toEqual([2, 3]);
    q.step(100);
    expect(q.cursor).toBe(5);
    q.step(-1, { ctrl: true });
    expect(q.cursor).toBe(4);
    expect([...q.selected]).toEqual([5]);
  });

  it('forgets rows that disappear or get filtered out', () => {
    q.click(2);
    q.click(5, { ctrl: true });
    snapshot(...[1, 2, 3, 4].map((id) => task({ id })));
    expect([...q.selected]).toEqual([2]);
    q.apply({ kind: 'state', task: task({ id: 3, state: 'failed' }) });
    q.setFilter('failed');
    expect(q.selected.size).toBe(0);
  });

  it('targets the selection in queue order, else the cursor row', () => {
    expect(q.targets()).toEqual([]);
    q.click(4);
    q.click(2, { ctrl: true });
    expect(q.targets()).toEqual([2, 4]);
    q.clearSelection();
    expect(q.targets()).toEqual([2]);
  });
});

describe('actions', () => {
  const sent = (cmd: string) => calls.filter((c) => c.cmd === cmd).map((c) => c.args);

  beforeEach(() =>
    snapshot(
      task({ id: 1, state: 'queued' }),
      task({ id: 2, state: 'paused' }),
      task({ id: 3, state: 'failed' }),
      task({ id: 4, state: 'queued' }),
      task({ id: 5, state: 'done' }),
    ),
  );

  it('Space pauses what can pause, otherwise resumes', async () => {
    mockIPC((cmd, args) => void calls.push({ cmd, args }));
    await q.togglePause([1, 2]);
    expect(sent('queue_pause')).toEqual([{ ids: [1] }]);
    await q.togglePause([2, 3]);
    expect(sent('queue_resume')).toEqual([{ ids: [2] }]);
  });

  it('sends only the rows an action applies to', async () => {
    await q.retry([1, 3, 5]);
    await q.resume([1, 2]);
    await q.remove([5]);
    expect(sent('queue_retry')).toEqual([{ ids: [3] }]);
    expect(sent('queue_resume')).toEqual([{ ids: [2] }]);
    expect(sent('queue_remove')).toEqual([{ ids: [5] }]);
  });

  it('asks the row what the engine allows, never its state', async () => {
    // The engine's word wins: a queued row the shell says cannot be paused or moved is left alone.
    q.apply({ kind: 'state', task: task({ id: 4, state: 'queued', allowedActions: ['cancel', 'remove'] }) });
    await q.pause([1, 4]);
    await q.moveTo('top', [1, 4]);
    expect(sent('queue_pause')).toEqual([{ ids: [1] }]);
    expect(sent('queue_move')).toEqual([{ ids: [1], to: 'top' }]);
  });

  it('reports a failing command as a notice instead of throwing', async () => {
    await q.pause([1]);
    expect(notices.items).toHaveLength(1);
    expect(notices.items[0]).toMatchObject({ code: 'not_found', message: 'no such task' });
  });

  it('moves waiting rows by one as a block with {before}', async () => {
    await q.moveBy(-1, [4]);
    expect(sent('queue_move').at(-1)).toEqual({ ids: [4], to: { before: 3 } });
    await q.moveBy(1, [1]);
    expect(sent('queue_move').at(-1)).toEqual({ ids: [1], to: { before: 3 } });
    await q.moveBy(1, [4]);
    expect(sent('queue_move').at(-1)).toEqual({ ids: [4], to: 'bottom' });
    const before = calls.length;
    await q.moveBy(-1, [1]); // already first
    expect(calls.length).toBe(before);
  });

  it('turns a drop gap into {before} or bottom, skipping the moving rows', async () => {
    expect(q.beforeGap(0, new Set([4]))).toEqual({ before: 1 });
    expect(q.beforeGap(3, new Set([4]))).toEqual({ before: 5 });
    expect(q.beforeGap(5, new Set([1]))).toBe('bottom');
    await q.dropAt([4, 5], 0); // the done row is not movable
    expect(sent('queue_move').at(-1)).toEqual({ ids: [4], to: { before: 1 } });
  });

  it('beyond the end of a filtered view, lands before the next row of the whole queue', () => {
    q.setFilter('waiting'); // [1, 2, 4]
    expect(q.beforeGap(3, new Set([1]))).toEqual({ before: 5 });
  });

  it('returns the counts of retry-failed and clear-finished', async () => {
    expect(await q.retryFailed()).toBe(2);
    expect(await q.clearFinished()).toBe(2);
  });

  it('builds the remote path from folder and name', () => {
    snapshot(task({ id: 9, remoteDir: '/a/b/', name: 'c.txt' }));
    expect(q.remotePath(9)).toBe('/a/b/c.txt');
  });
});

describe('rowProgress', () => {
  it('uses live progress while running and the stored bytes otherwise', () => {
    const t = task({ id: 1, state: 'uploading', size: 1000, bytesDone: 100 });
    expect(rowProgress(t, progress(1, { done: 410, total: 1000, bytesPerSec: 5, etaSecs: 3 }))).toEqual({ percent: 41, bytesPerSec: 5, etaSecs: 3 });
    expect(rowProgress({ ...t, state: 'paused' }, null)).toEqual({ percent: 10, bytesPerSec: null, etaSecs: null });
    expect(rowProgress({ ...t, state: 'instant' }, null).percent).toBe(100);
    expect(rowProgress({ ...t, state: 'queued', bytesDone: 0 }, null).percent).toBeNull();
  });
});
