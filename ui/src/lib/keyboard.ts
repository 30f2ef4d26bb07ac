// App-wide shortcuts (ui.md "Keyboard"). A pure mapping from a key event to a command, so it is unit-tested
// without a DOM; App.svelte decides whether a dialog is open and runs the command.

export type Shortcut =
  | 'addFiles'
  | 'addFolder'
  | 'settings'
  | 'help'
  | 'togglePause'
  | 'remove'
  | 'retry'
  | 'selectAll'
  | 'moveUp'
  | 'moveDown';

export type KeyLike = Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'> & {
  /** What had focus: queue shortcuts step aside for text fields and buttons, where the keys mean something. */
  target?: EventTarget | null;
};

function typingIn(target: EventTarget | null | undefined): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  return (target as Element).closest('input, textarea, select, button, [contenteditable=""], [contenteditable="true"], [role="menu"]') !== null;
}

export function shortcutFor(e: KeyLike): Shortcut | null {
  const mod = e.ctrlKey || e.metaKey; // Ctrl on Windows/Linux, ⌘ on macOS
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;

  // Global: work from anywhere (also while typing), like any desktop app's menu accelerators.
  if (mod && !e.altKey && key === 'o') return e.shiftKey ? 'addFolder' : 'addFiles';
  if (mod && !e.altKey && !e.shiftKey && key === ',') return 'settings';
  if (key === 'F1') return 'help';

  if (typingIn(e.target)) return null;

  // Queue: act on the selection.
  if (e.altKey && !mod && key === 'ArrowUp') return 'moveUp';
  if (e.altKey && !mod && key === 'ArrowDown') return 'moveDown';
  if (mod || e.altKey) return mod && !e.shiftKey && !e.altKey && key === 'a' ? 'selectAll' : null;
  if (key === ' ' && !e.shiftKey) return 'togglePause';
  if (key === 'Delete') return 'remove';
  if (key === 'r' && !e.shiftKey) return 'retry';
  return null;
}
