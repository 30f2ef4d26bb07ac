/** Which dialog is open. One at a time: each is modal, and shortcuts are off while one is open. */
export type DialogName = 'accounts' | 'settings' | 'speed' | 'target' | 'help';

export class Dialogs {
  open: DialogName | null = $state(null);
  /** Accounts dialog: open straight on the "new account" form (from the empty queue's "Add an account"). */
  accountsNew = $state(false);

  show(name: DialogName, opts: { newAccount?: boolean } = {}): void {
    this.accountsNew = name === 'accounts' && !!opts.newAccount;
    this.open = name;
  }

  close(): void {
    this.open = null;
    this.accountsNew = false;
  }
}

