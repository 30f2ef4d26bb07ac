/** What a row's own buttons ask for; the grid's owner maps them to store actions. */
export type RowAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'remove' | 'accounts';

/** Everything the row context menu can do to its targets. */
export type MenuAction = 'pause' | 'resume' | 'cancel' | 'retry' | 'remove' | 'top' | 'bottom' | 'copy';

/** A menu entry; `checked` set makes it a radio item (the account menu's active profile). */
export type MenuItem = { id: string; label: string; enabled?: boolean; checked?: boolean } | 'separator';
