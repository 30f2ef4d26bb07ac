import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { beforeEach, describe, expect, it } from 'vitest';
import { api } from '../api';
import { AccountsStore } from '../state/accounts.svelte';
import { Notices } from '../state/notices.svelte';
import { profile, providers } from '../../test/fixtures';
import { fakeShell, type FakeShell } from '../../test/shell';
import AccountsDialog from './AccountsDialog.svelte';

let shell: FakeShell;
let accounts: AccountsStore;

async function open(opts: { keyring?: boolean } = {}) {
  accounts = new AccountsStore(api, new Notices());
  accounts.providers = providers; // as the session sets it from app_info
  if (opts.keyring === false) accounts.keyring = { available: false, message: 'org.freedesktop.secrets was not provided' };
  await accounts.refresh();
  render(AccountsDialog, { accounts, onClose: () => {} });
  return screen.getByTestId('accounts-dialog');
}

beforeEach(() => {
  shell = fakeShell({
    profiles: [profile(), profile({ id: 'p2', provider: '6pan-v2', name: '6pan 家庭', fields: {}, active: false, defaultDir: '/' })],
  });
  shell.on('profile_save', (args) => {
    const input = args.input as { id: string | null; name: string };
    return profile({ id: input.id ?? 'new', name: input.name });
  });
});

describe('AccountsDialog', () => {
  it('lists profiles with provider, folder and the active one', async () => {
    const dlg = await open();
    const items = within(dlg).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent('我的账号');
    expect(items[0]).toHaveTextContent('123pan');
    expect(items[0]).toHaveTextContent('/照片/2026');
    expect(items[0]).toHaveTextContent('active');
    expect(items[1]).toHaveTextContent('6pan (v2 API)');
    await fireEvent.click(within(items[1]).getByRole('button', { name: 'Use' }));
    await waitFor(() => expect(shell.called('profile_activate')).toEqual([{ id: 'p2' }]));
  });

  it('shows what the server said on Test connection', async () => {
    shell.on('profile_test', () => ({ ok: false, message: 'clientSecret rejected (401)' }));
    const dlg = await open();
    const first = within(dlg).getAllByRole('listitem')[0];
    await fireEvent.click(within(first).getByRole('button', { name: 'Test connection' }));
    expect(await within(first).findByTestId('connection-report')).toHaveTextContent('clientSecret rejected (401)');
  });

  it('never shows a stored secret; Replace sends a new one, otherwise null keeps it', async () => {
    const dlg = await open();
    const first = within(dlg).getAllByRole('listitem')[0];
    await fireEvent.click(within(first).getByRole('button', { name: 'Edit' }));
    const form = screen.getByTestId('profile-form');
    expect(within(form).getByTestId('secret-stored')).toHaveTextContent('stored in the system keyring');
    expect(form.querySelector('input[type="password"]')).toBeNull();
    await fireEvent.click(within(form).getByTestId('profile-save'));
    await waitFor(() => expect(shell.called('profile_save')).toHaveLength(1));
    expect(shell.called('profile_save')[0]).toMatchObject({ input: { id: 'p1', fields: { client_id: 'cid' }, secret: null } });
    await waitFor(() => expect(screen.queryByTestId('profile-form')).toBeNull());

    await fireEvent.click(within(within(dlg).getAllByRole('listitem')[0]).getByRole('button', { name: 'Edit' }));
    const form2 = screen.getByTestId('profile-form');
    await fireEvent.click(within(form2).getByRole('button', { name: 'Replace' }));
    await fireEvent.input(form2.querySelector('input[type="password"]')!, { target: { value: 's3cret' } });
    await fireEvent.click(within(form2).getByTestId('profile-save'));
    await waitFor(() => expect(shell.called('profile_save')).toHaveLength(2));
    expect(shell.called('profile_save')[1]).toMatchObject({ input: { id: 'p1', secret: 's3cret' } });
  });

  it('asks 123pan for client ID and secret, 6pan for a token', async () => {
    const dlg = await open();
    await fireEvent.click(within(dlg).getByRole('button', { name: '+ Add account' }));
    const form = screen.getByTestId('profile-form');
    expect(within(form).getByLabelText('Client ID')).toBeInTheDocument();
    expect(within(form).getByLabelText('Client secret')).toBeInTheDocument();
    await fireEvent.change(within(form).getByLabelText('Cloud'), { target: { value: '6pan-v2' } });
    expect(within(form).queryByLabelText('Client ID')).toBeNull();
    expect(within(form).getByLabelText('Access token')).toBeInTheDocument();
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: '家' } });
    await fireEvent.click(within(form).getByTestId('profile-save'));
    expect(within(form).getByRole('alert')).toHaveTextContent('Access token is required.');
    await fireEvent.input(within(form).getByLabelText('Access token'), { target: { value: 'tok' } });
    await fireEvent.click(within(form).getByTestId('profile-save'));
    await waitFor(() =>
      expect(shell.called('profile_save')[0]).toEqual({
        input: { id: null, provider: '6pan-v2', name: '家', endpoint: null, defaultDir: '/', fields: {}, secret: 'tok' },
      }),
    );
  });

  it('says plainly when the keyring is not reachable, and offers no secret field', async () => {
    const dlg = await open({ keyring: false });
    expect(within(dlg).getByTestId('keyring-banner')).toHaveTextContent('The system keyring is not reachable, so secrets cannot be saved');
    expect(within(dlg).getByTestId('keyring-banner')).toHaveTextContent('org.freedesktop.secrets');
    await fireEvent.click(within(dlg).getByRole('button', { name: '+ Add account' }));
    const form = screen.getByTestId('profile-form');
    expect(form.querySelector('input[type="password"]')).toBeNull();
    expect(within(form).getByTestId('keyring-down')).toBeInTheDocument();
  });

  it('confirms before removing', async () => {
    const dlg = await open();
    const second = within(dlg).getAllByRole('listitem')[1];
    await fireEvent.click(within(second).getByRole('button', { name: 'Remove' }));
    expect(shell.called('profile_remove')).toHaveLength(0);
    await fireEvent.click(within(second).getByRole('button', { name: 'Remove' }));
    await waitFor(() => expect(shell.called('profile_remove')).toEqual([{ id: 'p2' }]));
  });
});
