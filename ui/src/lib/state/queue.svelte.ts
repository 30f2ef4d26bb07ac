import { api as defaultApi, type Api, type MoveTo, type QueueEventDto, type TaskAction, type TaskDto, type TaskProgressDto, type TaskState } from '../api';
import { percentOf } from '../format';
import { Notices } from './notices.svelte';

export type Filter = 'all' | 'active' | 'waiting' | 'done' | 'failed';
export const FILTERS: Filter[] = ['all', 'active', 'waiting', 'done', 'failed'];

const RUNNING: ReadonlySet<TaskState> = new Set(['hashing', 'preparing', 'uploading', 'completing']);

/** Which filter a state belongs to. Paused counts as waiting (it will not run until resumed); cancelled counts
 *  as done because "Clear finished" removes it along with done and instant (the engine's definition). */
export function filterOf(state: TaskState): Exclude<Filter, 'all'> {
  switch (state) {
    case 'hashing':
    case 'preparing':
    case 'uploading':
    case 'completing':
      return 'active';
    case 'queued':
    case 'paused':
      return 'waiting';
    case 'done':
    case 'instant':
    case 'cancelled':
      return 'done';
    case 'failed':
      return 'failed';
  }
}

export const isRunning = (s: TaskState) => RUNNING.has(s);
/** Whether the engine allows `action` on this row now (the engine's lifecycle decides; the UI only asks). */
export const allows = (task: TaskDto, action: TaskAction) => task.allowedActions.includes(action);
/** Rows that may be dragged or moved: only waiting ones have a queue position that still matters. */
export const isMovable = (task: TaskDto) => allows(task, 'move');

/** One row. Two signals: `task` changes on state messages, `progress` at ~10 Hz while running, so a progress
 *  tick re-renders that row's cells and nothing that depends only on states (counts, filters). */
export class TaskRow {
  task: TaskDto;
  progress: TaskProgressDto | null = $state.raw(null);
  constructor(task: TaskDto) {
    this.task = $state.raw(task);
  }
}

/** What the progress column shows for a row, from its last state and (while running) its last progress. */
export type RowProgress = { percent: number | null; bytesPerSec: number | null; etaSecs: number | null };

export function rowProgress(task: TaskDto, progress: TaskProgressDto | null): RowProgress {
  if (progress && RUNNING.has(task.state)) {
    return { percent: percentOf(progress.done, progress.total), bytesPerSec: progress.bytesPerSec, etaSecs: progress.etaSecs };
  }
  switch (task.state) {
    case 'done':
    case 'instant':
      return { percent: 100, bytesPerSec: null, etaSecs: null };
    case 'queued':
      return { percent: task.bytesDone > 0 ? percentOf(task.bytesDone, task.size) : null, bytesPerSec: null, etaSecs: null };
    default:
      return { percent: percentOf(task.bytesDone, task.size), bytesPerSec: null, etaSecs: null };
  }
}

export type Counts = Record<Filter, number> & { uploaded: number; instant: number; bytesSaved: number };

export class QueueStore {
  #api: Api;
  #notices: Notices;
  /** Rows by id. Membership changes only with `order`, which is the reactive part. */
  #rows = new Map<number, TaskRow>();
  /** Ids of rows that currently hold progress, so a progress message can clear the ones it no longer lists. */
  #withProgress = new Set<number>();

  /** Every id in queue order (by `position`). */
  order: number[] = $state.raw([]);
  /** Whether the first snapshot has arrived (before it the queue is unknown, not empty). */
  loaded = $state(false);
  filter: Filter = $state('all');
  selected: ReadonlySet<number> = $state.raw(new Set());
  /** The keyboard cursor: the row arrow keys move and `aria-activedescendant` points at. */
  cursor: number | null = $state(null);
  /** Sum of upload speeds in the last progress message (hashing is disk speed, not upload speed). */
  speed = $state(0);
  #anchor: number | null = null;

  constructor(api: Api = defaultApi, notices: Notices = new Notices()) {
    this.#api = api;
    this.#notices = notices;
  }

  visible: number[] = $derived.by(() => {
    const f = this.filter;
    if (f === 'all') return this.order;
    return this.order.filter((id) => filterOf(this.#rows.get(id)!.task.state) === f);
  });

  counts: Counts = $derived.by(() => {
    const c: Counts = { all: 0, active: 0, waiting: 0, done: 0, failed: 0, uploaded: 0, instant: 0, bytesSaved: 0 };
    for (const id of this.order) {
      const t = this.#rows.get(id)!.task;
      c.all += 1;
      c[filterOf(t.state)] += 1;
      if (t.state === 'done') {
        c.uploaded += 1;
        c.bytesSaved += t.bytesHeld;
      }
      if (t.state === 'instant') {
        c.uploaded += 1;
        c.instant += 1;
        c.bytesSaved += t.size;
      }
    }
    return c;
  });

  row(id: number): TaskRow | undefined {
    return this.#rows.get(id);
  }

  // ---- messages from the shell -------------------------------------------------------------------------

  apply(e: QueueEventDto): void {
    switch (e.kind) {
      case 'snapshot':
        return this.#applySnapshot(e.tasks);
      case 'state':
        return this.#applyState(e.task);
      case 'progress':
        return this.#applyProgress(e.tasks);
      case 'batch_finished':
        return; // announced by the session; no row changes
    }
  }

  #applySnapshot(tasks: TaskDto[]): void {
    const next = new Map<number, TaskRow>();
    for (const t of tasks) {
      // Keep existing row objects so their progress and rendered cells survive a reorder.
      const old = this.#rows.get(t.id);
      if (old) {
        if (old.task !== t) old.task = t;
        if (!RUNNING.has(t.state)) this.#clearProgress(old, t.id);
        next.set(t.id, old);
      } else next.set(t.id, new TaskRow(t));
    }
    for (const id of this.#withProgress) if (!next.has(id)) this.#withProgress.delete(id);
    this.#rows = next;
    this.order = [...tasks].sort((a, b) => a.position - b.position).map((t) => t.id);
    this.loaded = true;
    this.#prune();
    this.#recomputeSpeed();
  }

  #applyState(task: TaskDto): void {
    const row = this.#rows.get(task.id);
    if (!row) {
      // A task we have not seen (a state message raced ahead of its snapshot): insert it where it belongs.
      this.#rows.set(task.id, new TaskRow(task));
      const order = [...this.order];
      const at = order.findIndex((id) => this.#rows.get(id)!.task.position > task.position);
      order.splice(at < 0 ? order.length : at, 0, task.id);
      this.order = order;
      return;
    }
    const prev = row.task;
    row.task = task;
    if (!RUNNING.has(task.state)) {
      this.#clearProgress(row, task.id);
      this.#recomputeSpeed();
    }
    if (prev.position !== task.position) {
      this.order = [...this.order].sort((a, b) => this.#rows.get(a)!.task.position - this.#rows.get(b)!.task.position);
    }
  }

  #applyProgress(items: TaskProgressDto[]): void {
    const seen = new Set<number>();
    for (const p of items) {
      const row = this.#rows.get(p.id);
      if (!row) continue;
      seen.add(p.id);
      row.progress = p;
      this.#withProgress.add(p.id);
    }
    // The message lists every running task; one it leaves out has stopped and its speed must not linger.
    for (const id of [...this.#withProgress]) {
      if (!seen.has(id)) this.#clearProgress(this.#rows.get(id), id);
    }
    this.#recomputeSpeed();
  }

  #clearProgress(row: TaskRow | undefined, id: number): void {
    if (row && row.progress !== null) row.progress = null;
    this.#withProgress.delete(id);
  }

  #recomputeSpeed(): void {
    let sum = 0;
    for (const id of this.#withProgress) {
      const p = this.#rows.get(id)?.progress;
      if (p && p.phase !== 'hashing') sum += p.bytesPerSec;
    }
    this.speed = sum;
  }

  /** Drops selected / cursor ids that are gone or hidden by the filter, so an action never hits a row the user
   *  cannot see. */
  #prune(): void {
    const visible = new Set(this.visible);
    if ([...this.selected].some((id) => !visible.has(id))) {
      this.selected = new Set([...this.selected].filter((id) => visible.has(id)));
    }
    if (this.cursor !== null && !visible.has(this.cursor)) this.cursor = null;
    if (this.#anchor !== null && !visible.has(this.#anchor)) this.#anchor = null;
  }

  // ---- filters and selection ----------------------------------------------------------------------------

  setFilter(f: Filter): void {
    this.filter = f;
    this.#prune();
  }

  /** Click semantics of a file manager: plain click selects one; Ctrl/Cmd toggles; Shift extends from the
   *  anchor over the visible rows (replacing the selection, or adding to it with Ctrl as well). */
  click(id: number, mods: { shift?: boolean; ctrl?: boolean } = {}): void {
    if (mods.shift && this.#anchor !== null) {
      const vis = this.visible;
      const a = vis.indexOf(this.#anchor);
      const b = vis.indexOf(id);
      if (a >= 0 && b >= 0) {
        const range = vis.slice(Math.min(a, b), Math.max(a, b) + 1);
        this.selected = new Set(mods.ctrl ? [...this.selected, ...range] : range);
        this.cursor = id;
        return;
      }
    }
    if (mods.ctrl) {
      const next = new Set(this.selected);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      this.selected = next;
    } else {
      this.selected = new Set([id]);
    }
    this.#anchor = id;
    this.cursor = id;
  }

  /** The row checkbox: toggles one row without touching the others. */
  toggle(id: number): void {
    this.click(id, { ctrl: true });
  }

  selectAll(): void {
    this.selected = new Set(this.visible);
  }

  clearSelection(): void {
    this.selected = new Set();
    this.#anchor = null;
  }

  /** Arrow keys: moves the cursor by `delta` rows (clamped); with Shift extends the selection from the anchor. */
  step(delta: number, mods: { shift?: boolean; ctrl?: boolean } = {}): void {
    const vis = this.visible;
    if (vis.length === 0) return;
    const at = this.cursor === null ? -1 : vis.indexOf(this.cursor);
    // Without a cursor, moving down starts above the first row and moving up below the last.
    const from = at >= 0 ? at : delta > 0 ? -1 : vis.length;
    const next = Math.max(0, Math.min(vis.length - 1, from + delta));
    const id = vis[next];
    if (mods.ctrl && !mods.shift) this.cursor = id; // move focus only, keep the selection
    else this.click(id, { shift: mods.shift });
  }

  /** Ids an action applies to: the selection in queue order, or the cursor row when nothing is selected. */
  targets(): number[] {
    if (this.selected.size > 0) return this.visible.filter((id) => this.selected.has(id));
    return this.cursor !== null ? [this.cursor] : [];
  }

  /** The ids whose rows the engine allows `action` on. */
  #allowing(ids: number[], action: TaskAction): number[] {
    return ids.filter((id) => {
      const t = this.#rows.get(id)?.task;
      return t !== undefined && allows(t, action);
    });
  }

  // ---- actions -------------------------------------------------------------------------------------------
  // No optimistic changes: the shell answers at once and the channel brings the new rows, so the list always
  // shows the engine's truth.

  /** Space: pauses what can be paused; if nothing can, resumes what is paused. */
  async togglePause(ids = this.targets()): Promise<void> {
    const pausable = this.#allowing(ids, 'pause');
    if (pausable.length > 0) await this.#run(this.#api.pause(pausable));
    else {
      const paused = this.#allowing(ids, 'resume');
      if (paused.length > 0) await this.#run(this.#api.resume(paused));
    }
  }
  async pause(ids = this.targets()) {
    const p = this.#allowing(ids, 'pause');
    if (p.length) await this.#run(this.#api.pause(p));
  }
  async resume(ids = this.targets()) {
    const p = this.#allowing(ids, 'resume');
    if (p.length) await this.#run(this.#api.resume(p));
  }
  async cancel(ids = this.targets()) {
    const p = this.#allowing(ids, 'cancel');
    if (p.length) await this.#run(this.#api.cancel(p));
  }
  async retry(ids = this.targets()) {
    const p = this.#allowing(ids, 'retry');
    if (p.length) await this.#run(this.#api.retry(p));
  }
  async remove(ids = this.targets()) {
    const p = this.#allowing(ids, 'remove');
    if (p.length) await this.#run(this.#api.remove(p));
  }

  async moveTo(to: MoveTo, ids = this.targets()): Promise<void> {
    const movable = this.#allowing(ids, 'move');
    if (movable.length) await this.#run(this.#api.move(movable, to));
  }

  /** Alt+↑ / Alt+↓: moves the waiting rows of the selection one visible row up or down, as a block. */
  async moveBy(delta: -1 | 1, ids = this.targets()): Promise<void> {
    const moving = this.#allowing(ids, 'move');
    if (moving.length === 0) return;
    const set = new Set(moving);
    const vis = this.visible;
    if (delta < 0) {
      const first = vis.indexOf(moving[0]);
      let prev = first - 1;
      while (prev >= 0 && set.has(vis[prev])) prev -= 1;
      if (prev < 0) return;
      await this.#run(this.#api.move(moving, this.beforeGap(prev, set)));
    } else {
      const last = vis.indexOf(moving[moving.length - 1]);
      let next = last + 1;
      while (next < vis.length && set.has(vis[next])) next += 1;
      if (next >= vis.length) return;
      await this.#run(this.#api.move(moving, this.beforeGap(next + 1, set)));
    }
  }

  /** Where rows dropped into the gap before visible row `gap` go: before the first row at or after the gap
   *  that is not itself moving; past the end of a filtered view, before the next row of the whole queue. */
  beforeGap(gap: number, moving: ReadonlySet<number>): MoveTo {
    const vis = this.visible;
    for (let i = gap; i < vis.length; i++) if (!moving.has(vis[i])) return { before: vis[i] };
    const lastVisible = vis[vis.length - 1];
    const order = this.order;
    for (let i = order.indexOf(lastVisible) + 1; i > 0 && i < order.length; i++) {
      if (!moving.has(order[i])) return { before: order[i] };
    }
    return 'bottom';
  }

  /** Drag-and-drop reorder: `ids` dropped into the gap before visible row `gap`. */
  async dropAt(ids: number[], gap: number): Promise<void> {
    const moving = this.#allowing(ids, 'move');
    if (moving.length === 0) return;
    await this.#run(this.#api.move(moving, this.beforeGap(gap, new Set(moving))));
  }

  async pauseAll() {
    await this.#run(this.#api.pauseAll());
  }
  async resumeAll() {
    await this.#run(this.#api.resumeAll());
  }
  async retryFailed(): Promise<number> {
    return (await this.#run(this.#api.retryFailed())) ?? 0;
  }
  async clearFinished(): Promise<number> {
    return (await this.#run(this.#api.clearFinished())) ?? 0;
  }

  /** Remote path as the cloud shows it: the task's folder plus its name. */
  remotePath(id: number): string | null {
    const t = this.#rows.get(id)?.task;
    if (!t) return null;
    return `${t.remoteDir.replace(/\/+$/, '')}/${t.name}`;
  }

  #run<T>(work: Promise<T>): Promise<T | undefined> {
    return this.#notices.guard(work);
  }
}

