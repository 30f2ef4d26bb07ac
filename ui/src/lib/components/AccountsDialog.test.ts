import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
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

describe('Sign in with a code (clouds whose provider signsInByDevice)', () => {
  /** A finish the test answers: `resolve()` as the shell does once saved, `reject(err)` as it does on failure. */
  function pendingFinish() {
    let settle: { resolve: (v: unknown) => void; reject: (e: unknown) => void } | null = null;
    shell.on('device_sign_in_finish', (args) => {
      const input = args.input as { name: string };
      return new Promise((resolve, reject) => {
        settle = {
          resolve: () => {
            const p = profile({ id: 'h1', provider: 'halalcloud', name: input.name, fields: {}, active: false });
            shell.profiles = [...shell.profiles, p];
            resolve(p);
          },
          reject,
        };
      });
    });
    return {
      resolve: () => settle!.resolve(null),
      reject: (e: unknown) => settle!.reject(e),
      get waiting() {
        return settle !== null;
      },
    };
  }

  async function halalForm(dlg: HTMLElement) {
    await fireEvent.click(within(dlg).getByRole('button', { name: '+ Add account' }));
    const form = screen.getByTestId('profile-form');
    await fireEvent.change(within(form).getByLabelText('Cloud'), { target: { value: 'halalcloud' } });
    return form;
  }

  it('is offered only for such clouds, and needs a name first', async () => {
    const dlg = await open();
    await fireEvent.click(within(dlg).getByRole('button', { name: '+ Add account' }));
    const form = screen.getByTestId('profile-form');
    expect(within(form).queryByRole('button', { name: 'Sign in with a code' })).toBeNull();
    await fireEvent.change(within(form).getByLabelText('Cloud'), { target: { value: 'halalcloud' } });
    // The key fields stay, for a personal key; the sign-in by code sits beside them.
    expect(within(form).getByLabelText('Client ID')).toBeInTheDocument();
    expect(within(form).getByLabelText('Client secret')).toBeInTheDocument();
    await fireEvent.click(within(form).getByRole('button', { name: 'Sign in with a code' }));
    expect(within(form).getByRole('alert')).toHaveTextContent('Name is required.');
    expect(shell.called('device_sign_in_start')).toHaveLength(0);
  });

  it('shows the code and the address, counts down, waits, then closes as a saved account', async () => {
    const finish = pendingFinish();
    const dlg = await open();
    const form = await halalForm(dlg);
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: '清真云' } });
    await fireEvent.input(within(form).getByLabelText('Server address'), { target: { value: 'http://127.0.0.1:9/halalcloud' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Sign in with a code' }));

    const panel = await within(form).findByRole('group', { name: 'Sign in with a code' });
    expect(await within(panel).findByTestId('device-code')).toHaveTextContent('WDJB-MJHT');
    expect(shell.called('device_sign_in_start')).toEqual([{ provider: 'halalcloud', endpoint: 'http://127.0.0.1:9/halalcloud' }]);
    expect(within(panel).getByTestId('device-address')).toHaveTextContent('https://www.2dland.cn/device');
    expect(within(panel).getByTestId('device-countdown')).toHaveTextContent('The code expires in 10:00.');
    expect(within(panel).getByRole('status')).toHaveTextContent('Waiting for you to enter the code at the website…');
    await waitFor(() => expect(within(panel).getByRole('button', { name: 'Copy code' })).toHaveFocus());
    // The form's fields wait with it; its Save button is gone.
    expect(within(form).getByLabelText('Name')).toBeDisabled();
    expect(within(form).queryByTestId('profile-save')).toBeNull();

    await waitFor(() => expect(finish.waiting).toBe(true));
    expect(shell.called('device_sign_in_finish')).toEqual([
      {
        id: 7,
        input: { id: null, provider: 'halalcloud', name: '清真云', endpoint: 'http://127.0.0.1:9/halalcloud', defaultDir: '/', fields: {}, secret: null },
      },
    ]);
    finish.resolve();
    await waitFor(() => expect(screen.queryByTestId('profile-form')).toBeNull());
    expect(within(dlg).getAllByRole('listitem')).toHaveLength(3);
    expect(within(dlg).getAllByRole('listitem')[2]).toHaveTextContent('清真云');
    expect(within(dlg).getByTestId('accounts-live')).toHaveTextContent('Signed in: “清真云” is saved.');
    await waitFor(() => expect(within(dlg).getByRole('button', { name: '+ Add account' })).toHaveFocus());
    expect(shell.called('device_sign_in_cancel')).toHaveLength(0);
  });

  it('Cancel stops the waiting sign-in and goes back to the form', async () => {
    const finish = pendingFinish();
    const dlg = await open();
    const form = await halalForm(dlg);
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'H' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Sign in with a code' }));
    await within(form).findByTestId('device-code');
    await waitFor(() => expect(finish.waiting).toBe(true));
    await fireEvent.click(within(form).getByTestId('device-cancel'));
    expect(shell.called('device_sign_in_cancel')).toEqual([{ id: 7 }]);
    finish.reject({ code: 'cancelled', message: 'cancelled' });
    expect(within(form).queryByTestId('device-sign-in-panel')).toBeNull();
    expect(within(form).getByLabelText('Name')).toBeEnabled();
    expect(within(form).getByRole('button', { name: 'Sign in with a code' })).toBeInTheDocument();
    expect(within(form).queryByRole('alert')).toBeNull();
  });

  it('closing the dialog while it waits cancels the sign-in', async () => {
    pendingFinish();
    const dlg = await open();
    const form = await halalForm(dlg);
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'H' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Sign in with a code' }));
    await within(form).findByTestId('device-code');
    await fireEvent.keyDown(dlg, { key: 'Escape' });
    cleanup();
    await waitFor(() => expect(shell.called('device_sign_in_cancel')).toEqual([{ id: 7 }]));
  });

  it('says when the code expired or the cloud refused, and offers a new code', async () => {
    const finish = pendingFinish();
    const dlg = await open();
    const form = await halalForm(dlg);
    await fireEvent.input(within(form).getByLabelText('Name'), { target: { value: 'H' } });
    await fireEvent.click(within(form).getByRole('button', { name: 'Sign in with a code' }));
    await waitFor(() => expect(finish.waiting).toBe(true));
    finish.reject({ code: 'timeout', message: 'timed out waiting for the code' });
    const panel = within(form).getByTestId('device-sign-in-panel');
    await waitFor(() => expect(within(panel).getByRole('status')).toHaveTextContent('The code expired before it was entered.'));
    expect(within(panel).queryByTestId('device-code')).toBeNull();
    await waitFor(() => expect(within(panel).getByRole('button', { name: 'Get a new code' })).toHaveFocus());

    shell.on('device_sign_in_start', () => {
      throw { code: 'network', message: 'openapi.2dland.cn could not be reached' };
    });
    await fireEvent.click(within(panel).getByRole('button', { name: 'Get a new code' }));
    await waitFor(() =>
      expect(within(panel).getByRole('status')).toHaveTextContent('The sign-in failed: openapi.2dland.cn could not be reached'),
    );
    expect(shell.called('device_sign_in_start')).toHaveLength(2);
  });

  it('is not offered for the sandbox or without a keyring', async () => {
    const dlg = await open({ keyring: false });
    const form = await halalForm(dlg);
    expect(within(form).queryByRole('button', { name: 'Sign in with a code' })).toBeNull();
  });
});
