import { fireEvent, render, screen, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { api } from '../api';
import { Notices } from '../state/notices.svelte';
import { QueueStore } from '../state/queue.svelte';
import { progress, task } from '../../test/fixtures';
import { fakeShell, type FakeShell } from '../../test/shell';
import QueueGrid from './QueueGrid.svelte';

let shell: FakeShell;
let queue: QueueStore;
let onCommand: ReturnType<typeof vi.fn<(action: string, ids: number[]) => void>>;

function renderGrid(tasks = [task({ id: 1 })]) {
  queue.apply({ kind: 'snapshot', tasks });
  onCommand = vi.fn<(action: string, ids: number[]) => void>();
  return render(QueueGrid, { queue, onCommand });
}

const rowOf = (id: number) => document.querySelector<HTMLElement>(`[data-task-id="${id}"]`)!;

beforeEach(() => {
  shell = fakeShell();
  queue = new QueueStore(api, new Notices());
});

describe('QueueGrid', () => {
  it('is an ARIA grid with row headers, counts and stable row attributes', () => {
    renderGrid([task({ id: 7, name: '旅行/IMG_0012.HEIC', state: 'uploading' }), task({ id: 8, state: 'queued' })]);
    const grid = screen.getByRole('grid', { name: 'Upload queue' });
    expect(grid).toHaveAttribute('aria-rowcount', '3');
    expect(grid).toHaveAttribute('aria-multiselectable', 'true');
    expect(screen.getAllByRole('columnheader').map((h) => h.textContent?.trim())).toContain('Name');
    const row = rowOf(7);
    expect(row).toHaveAttribute('role', 'row');
    expect(row).toHaveAttribute('data-state', 'uploading');
    expect(row).toHaveAttribute('aria-rowindex', '2');
    expect(within(row).getByRole('rowheader')).toHaveTextContent('旅行/IMG_0012.HEIC');
    expect(row.querySelector('.state')).toHaveTextContent('Uploading');
    expect(rowOf(8).querySelector('.state')).toHaveTextContent('Waiting');
  });

  it('shows live progress as text: percent, speed and ETA', async () => {
    renderGrid([task({ id: 1, state: 'uploading', size: 1000 })]);
    queue.apply({ kind: 'progress', tasks: [progress(1, { done: 410, total: 1000, bytesPerSec: 38 * 1024 * 1024, etaSecs: 130 })] });
    await Promise.resolve();
    const row = rowOf(1);
    expect(row.querySelector('.progress')).toHaveTextContent('41%');
    expect(row.querySelector('.speed')).toHaveTextContent('38 MB/s');
    expect(row.querySelector('.eta')).toHaveTextContent('2m 10s');
  });

  it('shows a failed row’s message, a hint and Retry', async () => {
    renderGrid([task({ id: 3, state: 'failed', error: { code: 'network', message: 'connection reset by the server' } })]);
    const row = rowOf(3);
    expect(row).toHaveTextContent('connection reset by the server');
    expect(row).toHaveTextContent('Check the network connection');
    expect(row.querySelector('.state')).toHaveTextContent('Failed');
    await fireEvent.click(within(row).getByRole('button', { name: 'Retry', hidden: true }));
    expect(onCommand).toHaveBeenCalledWith('retry', [3]);
  });

  it('shows the bytes an instant upload did not send', () => {
    renderGrid([task({ id: 4, state: 'instant', size: 3 * 1024 * 1024 })]);
    expect(rowOf(4)).toHaveTextContent('3 MB not sent');
    expect(rowOf(4).querySelector('.state')).toHaveTextContent('Instant');
  });

  it('shows the share of an upload the cloud held already', () => {
    const size = 40 * 1024 * 1024;
    renderGrid([
      task({ id: 5, state: 'done', size, bytesDone: size, bytesHeld: 4 * 1024 * 1024 }),
      task({ id: 6, state: 'done', size, bytesDone: size }),
    ]);
    expect(rowOf(5)).toHaveTextContent('4 MB not sent');
    expect(rowOf(5).querySelector('.state')).toHaveTextContent('Uploaded');
    expect(rowOf(6)).not.toHaveTextContent('not sent');
  });

  it('row buttons act on the row, or on the selection when the row is part of it', async () => {
    renderGrid([task({ id: 1, state: 'uploading' }), task({ id: 2, state: 'uploading' }), task({ id: 3, state: 'paused' })]);
    await fireEvent.click(rowOf(1).querySelector('[data-action="pause"]')!);
    expect(onCommand).toHaveBeenLastCalledWith('pause', [1]);
    await fireEvent.click(rowOf(1));
    await fireEvent.click(rowOf(2), { ctrlKey: true });
    await fireEvent.click(rowOf(2).querySelector('[data-action="pause"]')!);
    expect(onCommand).toHaveBeenLastCalledWith('pause', [1, 2]);
    await fireEvent.click(rowOf(3).querySelector('[data-action="resume"]')!);
    expect(onCommand).toHaveBeenLastCalledWith('resume', [3]);
  });

  it('selects with click, Shift+click and the arrow keys', async () => {
    renderGrid([1, 2, 3, 4].map((id) => task({ id })));
    await fireEvent.click(rowOf(1));
    await fireEvent.click(rowOf(3), { shiftKey: true });
    expect(rowOf(2)).toHaveAttribute('aria-selected', 'true');
    expect(rowOf(4)).toHaveAttribute('aria-selected', 'false');
    const grid = screen.getByRole('grid');
    await fireEvent.keyDown(grid, { key: 'ArrowDown' });
    expect(rowOf(4)).toHaveAttribute('aria-selected', 'true');
    expect(grid).toHaveAttribute('aria-activedescendant', 'row-4');
  });

  it('opens a context menu whose items run on the selection', async () => {
    renderGrid([task({ id: 1, state: 'queued' }), task({ id: 2, state: 'done' })]);
    await fireEvent.contextMenu(rowOf(1), { clientX: 10, clientY: 10 });
    const menu = screen.getByRole('menu');
    expect(within(menu).getByRole('menuitem', { name: 'Resume' })).toBeDisabled();
    await fireEvent.click(within(menu).getByRole('menuitem', { name: 'Move to top' }));
    expect(onCommand).toHaveBeenCalledWith('top', [1]);
    expect(screen.queryByRole('menu')).toBeNull();
  });

  it('keeps only the visible rows in the DOM at 10 000 tasks', () => {
    const many = Array.from({ length: 10_000 }, (_, i) => task({ id: i + 1, position: i + 1 }));
    renderGrid(many);
    expect(screen.getByRole('grid')).toHaveAttribute('aria-rowcount', '10001');
    const rendered = document.querySelectorAll('[data-task-id]').length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(100);
  });

  it('sends nothing to the shell by itself', () => {
    renderGrid();
    expect(shell.calls).toEqual([]);
  });
});
