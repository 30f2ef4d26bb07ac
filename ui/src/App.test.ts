import { emit } from '@tauri-apps/api/event';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import App from './App.svelte';
import type { ReceivedBatch } from './lib/api';
import { profile, task } from './test/fixtures';
import { fakeShell, type FakeShell } from './test/shell';

let shell: FakeShell;

// Each render creates its own session (fresh stores) over the fake shell.
async function start() {
  const r = render(App);
  await waitFor(() => expect(shell.called('queue_subscribe')).toHaveLength(1));
  return r;
}

/** A send-to batch as the shell announces it. */
const batch = (over: Partial<ReceivedBatch> = {}): ReceivedBatch => ({
  id: 7,
  paths: ['/home/me/sent.txt'],
  files: 1,
  bytes: 2048,
  rejected: [],
  sent: null,
  ...over,
});

const rowOf = (id: number) => document.querySelector<HTMLElement>(`[data-task-id="${id}"]`);

beforeEach(() => {
  document.documentElement.removeAttribute('data-theme');
});

describe('first start', () => {
  it('offers the sandbox and an account when there is no profile', async () => {
    shell = fakeShell();
    await start();
    const sandbox = await screen.findByTestId('try-sandbox');
    expect(screen.getByText('Drop files or folders here')).toBeInTheDocument();
    await fireEvent.click(sandbox);
    await waitFor(() => expect(shell.called('sandbox_start')).toHaveLength(1));
    // The new profile shows in the top bar, and the first-run offer goes away.
    await waitFor(() => expect(screen.queryByTestId('try-sandbox')).toBeNull());
    expect(screen.getByRole('button', { name: /Account: 123pan · Sandbox/ })).toBeInTheDocument();
  });

  it('"Add an account" opens the new-account form', async () => {
    shell = fakeShell();
    await start();
    await fireEvent.click(await screen.findByTestId('add-account'));
    expect(await screen.findByTestId('profile-form')).toBeInTheDocument();
  });

  it('follows a Chinese system locale when Settings says "system"', async () => {
    shell = fakeShell({ info: { systemLocale: 'zh_CN.UTF-8' }, settings: { language: 'system' } });
    await start();
    expect(await screen.findByText('把文件或文件夹拖到这里')).toBeInTheDocument();
    expect(document.documentElement.lang).toBe('zh-CN');
  });
});

describe('the queue', () => {
  beforeEach(() => {
    shell = fakeShell({ profiles: [profile()] });
  });

  it('adds picked files and shows the rows the shell reports', async () => {
    await start();
    await fireEvent.click((await screen.findAllByRole('button', { name: '+ Add files' }))[0]);
    await waitFor(() => expect(shell.called('queue_add_paths')).toHaveLength(1));
    expect(shell.called('queue_add_paths')[0]).toEqual({ paths: ['/home/me/a.txt', '/home/me/b.txt'], profileId: null, remoteDir: null });
    expect(screen.getByTestId('live-region')).toHaveTextContent('Added 2 files.');
    shell.send({ kind: 'snapshot', tasks: [task({ id: 1, name: 'a.txt' }), task({ id: 2, name: 'b.txt' })] });
    await waitFor(() => expect(rowOf(2)).not.toBeNull());
    expect(rowOf(1)).toHaveTextContent('a.txt');
    expect(screen.getByRole('button', { name: /Waiting 2/ })).toBeInTheDocument();
  });

  it('pauses the selection with Space and removes it with Delete', async () => {
    shell.tasks = [task({ id: 1, state: 'uploading' }), task({ id: 2, state: 'queued' })];
    await start();
    await waitFor(() => expect(rowOf(2)).not.toBeNull());
    await fireEvent.click(rowOf(1)!);
    await fireEvent.keyDown(screen.getByRole('grid'), { key: ' ' });
    await waitFor(() => expect(shell.called('queue_pause')).toEqual([{ ids: [1] }]));
    await fireEvent.keyDown(screen.getByRole('grid'), { key: 'a', ctrlKey: true });
    await fireEvent.keyDown(screen.getByRole('grid'), { key: 'Delete' });
    await waitFor(() => expect(shell.called('queue_remove')).toEqual([{ ids: [1, 2] }]));
  });

  it('shows a command failure in plain words', async () => {
    shell.on('queue_add_paths', () => {
      throw { code: 'no_profile', message: 'no profile' };
    });
    await start();
    await fireEvent.click((await screen.findAllByRole('button', { name: '+ Add files' }))[0]);
    expect(await screen.findByRole('alert')).toHaveTextContent('Add an account or try the sandbox first.');
  });

  it('lists rejected paths', async () => {
    shell.on('queue_add_paths', () => ({ added: 1, rejected: [{ path: '/x/a|b.txt', message: 'name has | which 123pan forbids' }] }));
    await start();
    await fireEvent.click((await screen.findAllByRole('button', { name: '+ Add files' }))[0]);
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('1 path was not added.');
    expect(alert).toHaveTextContent('/x/a|b.txt: name has | which 123pan forbids');
  });

  it('names the target while files are dragged over the window, and adds them on drop', async () => {
    await start();
    await emit('tauri://drag-enter', { paths: ['/home/me/x.iso'], position: { x: 1, y: 1 } });
    const overlay = await screen.findByTestId('drop-overlay');
    expect(overlay).toHaveTextContent('Upload to 123pan · /照片/2026');
    await emit('tauri://drag-drop', { paths: ['/home/me/x.iso'], position: { x: 1, y: 1 } });
    await waitFor(() => expect(screen.queryByTestId('drop-overlay')).toBeNull());
    await waitFor(() => expect(shell.called('queue_add_paths')).toEqual([{ paths: ['/home/me/x.iso'], profileId: null, remoteDir: null }]));
  });

  it('asks where files sent from the file manager go, and can remember it', async () => {
    await start();
    await emit('paths-received', { batch: batch({ paths: ['/home/me/sent.txt', '/home/me/photos'], files: 3, bytes: 3 * 1024 * 1024 }) });
    const sheet = await screen.findByTestId('sendto-sheet');
    expect(within(sheet).getByTestId('sendto-summary')).toHaveTextContent('3 files, 3 MB');
    expect(within(sheet).getByText('photos')).toBeInTheDocument();
    expect(within(sheet).getByTestId('sendto-dir')).toHaveValue('/照片/2026');
    await fireEvent.click(within(sheet).getByTestId('sendto-remember'));
    await fireEvent.click(within(sheet).getByTestId('sendto-confirm'));
    await waitFor(() => expect(shell.called('sendto_confirm')).toEqual([{ batchId: 7, profileId: 'p1', remoteDir: '/照片/2026', remember: true }]));
    await waitFor(() => expect(screen.queryByTestId('sendto-sheet')).toBeNull());
    expect(shell.called('sendto_target').length).toBeGreaterThan(0);
  });

  it('shows batches that arrived before the window was ready, and Cancel sends nothing', async () => {
    shell.on('sendto_ready', () => [batch({ id: 3 })]);
    await start();
    const sheet = await screen.findByTestId('sendto-sheet');
    await fireEvent.click(within(sheet).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(shell.called('sendto_dismiss')).toEqual([{ batchId: 3 }]));
    expect(shell.called('sendto_confirm')).toEqual([]);
  });

  it('only announces a batch the shell sent to the remembered target', async () => {
    await start();
    await emit('paths-received', { batch: batch({ files: 2, sent: { profileId: 'p1', remoteDir: '/inbox', added: 2 } }) });
    await waitFor(() => expect(screen.getByTestId('live-region')).toHaveTextContent('Sent 2 files to 我的账号 /inbox.'));
    expect(screen.queryByTestId('sendto-sheet')).toBeNull();
  });

  it('announces a finished batch', async () => {
    await start();
    shell.send({ kind: 'batch_finished', uploaded: 23, instant: 12, failed: 1, bytesSaved: 100 });
    await waitFor(() => expect(screen.getByTestId('live-region')).toHaveTextContent('23 uploaded, 12 instant, 1 failed.'));
  });

  it('uploads to the folder chosen in the top bar', async () => {
    await start();
    await fireEvent.click(await screen.findByRole('button', { name: 'Change the upload folder' }));
    const dialog = await screen.findByTestId('target-dialog');
    await fireEvent.input(within(dialog).getByRole('textbox'), { target: { value: '备份/2026' } });
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Apply' }));
    expect(screen.getByTestId('target-dir')).toHaveTextContent('/备份/2026');
    await emit('paths-received', { batch: batch() });
    await fireEvent.click(await screen.findByTestId('sendto-confirm'));
    await waitFor(() => expect(shell.called('sendto_confirm')[0]).toMatchObject({ remoteDir: '/备份/2026' }));
  });
});

describe('.torrent files on 6pan', () => {
  it('asks once, then starts offline downloads and uploads the rest', async () => {
    shell = fakeShell({ profiles: [profile({ provider: '6pan-v2', fields: {} })] });
    await start();
    await emit('tauri://drag-drop', { paths: ['/d/a.torrent', '/d/b.TORRENT', '/d/c.txt'], position: { x: 0, y: 0 } });
    const dialog = await screen.findByTestId('torrent-dialog');
    expect(dialog).toHaveTextContent('2 .torrent files');
    await fireEvent.click(within(dialog).getByRole('button', { name: 'Start offline download' }));
    await waitFor(() => expect(shell.called('offline_add_torrents')).toEqual([{ paths: ['/d/a.torrent', '/d/b.TORRENT'], profileId: null }]));
    expect(shell.called('queue_add_paths')).toEqual([{ paths: ['/d/c.txt'], profileId: null, remoteDir: null }]);
  });

  it('does not ask for 123pan', async () => {
    shell = fakeShell({ profiles: [profile()] });
    await start();
    await emit('tauri://drag-drop', { paths: ['/d/a.torrent'], position: { x: 0, y: 0 } });
    await waitFor(() => expect(shell.called('queue_add_paths')).toHaveLength(1));
    expect(screen.queryByTestId('torrent-dialog')).toBeNull();
  });
});

describe('settings', () => {
  it('switches the language to 中文 and the theme to dark', async () => {
    shell = fakeShell({ profiles: [profile()], tasks: [task({ id: 1, state: 'uploading' })] });
    await start();
    await waitFor(() => expect(rowOf(1)).not.toBeNull());
    expect(rowOf(1)!.querySelector('.state')).toHaveTextContent('Uploading');
    await fireEvent.keyDown(window, { key: ',', ctrlKey: true });
    const dialog = await screen.findByTestId('settings-dialog');
    await fireEvent.change(within(dialog).getByTestId('language-select'), { target: { value: 'zh-CN' } });
    await fireEvent.change(within(dialog).getByRole('combobox', { name: 'Theme' }), { target: { value: 'dark' } });
    await fireEvent.input(within(dialog).getByRole('spinbutton', { name: 'Upload speed limit (MB/s)' }), { target: { value: '50' } });
    await fireEvent.click(within(dialog).getByTestId('settings-save'));
    await waitFor(() => expect(screen.queryByTestId('settings-dialog')).toBeNull());
    expect(shell.called('settings_set')[0]).toEqual({
      settings: { filesInParallel: 3, slicesPerFile: 4, speedLimit: 50 * 1024 * 1024, duplicate: 'keep_both', language: 'zh-CN', theme: 'dark' },
    });
    expect(rowOf(1)!.querySelector('.state')).toHaveTextContent('上传中');
    expect(screen.getByRole('button', { name: '+ 添加文件' })).toBeInTheDocument();
    expect(document.documentElement.dataset.theme).toBe('dark');
    expect(screen.getByRole('button', { name: '限速 50 MB/s' })).toBeInTheDocument();
  });

  it('keeps the dialog open with the shell’s message when saving fails', async () => {
    shell = fakeShell({ profiles: [profile()] });
    shell.on('settings_set', () => {
      throw { code: 'invalid_input', message: 'slices per file must be 1–16' };
    });
    await start();
    await fireEvent.click(await screen.findByTestId('open-settings'));
    const dialog = await screen.findByTestId('settings-dialog');
    await fireEvent.click(within(dialog).getByTestId('settings-save'));
    expect(await within(dialog).findByRole('alert')).toHaveTextContent('slices per file must be 1–16');
  });
});

describe('send-to integration in Settings', () => {
  it('installs and removes the file-manager entries at once', async () => {
    shell = fakeShell({ profiles: [profile()] });
    await start();
    await fireEvent.click(await screen.findByTestId('open-settings'));
    const dialog = await screen.findByTestId('settings-dialog');
    await waitFor(() => expect(within(dialog).getByTestId('integration-status')).toHaveTextContent('Not installed.'));
    await fireEvent.click(within(dialog).getByTestId('integration-install'));
    await waitFor(() => expect(within(dialog).getByTestId('integration-status')).toHaveTextContent('Installed for this user.'));
    expect(shell.called('integration_install')).toHaveLength(1);
    await fireEvent.click(within(dialog).getByTestId('integration-remove'));
    await waitFor(() => expect(shell.called('integration_uninstall')).toHaveLength(1));
  });

  it('forgets the remembered target', async () => {
    shell = fakeShell({ profiles: [profile()] });
    shell.on('sendto_target', () => ({ profileId: 'p1', remoteDir: '/inbox' }));
    await start();
    await fireEvent.click(await screen.findByTestId('open-settings'));
    const target = await screen.findByTestId('sendto-target');
    expect(target).toHaveTextContent('Sent files go to 我的账号 /inbox without asking.');
    await fireEvent.click(screen.getByTestId('sendto-forget'));
    await waitFor(() => expect(shell.called('sendto_forget')).toHaveLength(1));
    await waitFor(() => expect(screen.queryByTestId('sendto-target')).toBeNull());
  });
});
