import { toUiError, type UiError } from '../api';

export type Notice = { id: number; code: UiError['code']; message: string; details: string[] };

/** Two channels back to the user: visible notices for failures (dismissable, never modal), and the polite live
 *  region, which only gets batch milestones — a screen reader must not read every percent or every row. */
export class Notices {
  items: Notice[] = $state([]);
  /** The live region's text. A counter suffix makes a repeated identical sentence still count as a change. */
  live = $state('');
  #next = 1;

  error(e: unknown, details: string[] = []): void {
    const err = toUiError(e);
    // The same failure twice in a row (e.g. a key held down) shows once.
    const last = this.items[this.items.length - 1];
    if (last && last.code === err.code && last.message === err.message) return;
    this.items.push({ id: this.#next++, code: err.code, message: err.message, details });
    if (this.items.length > 4) this.items.shift();
  }

  dismiss(id: number): void {
    this.items = this.items.filter((n) => n.id !== id);
  }

  announce(text: string): void {
    this.live = this.live === text ? `${text}\u00a0` : text;
  }

  /** Runs a command, reporting its failure instead of throwing: for fire-and-forget UI handlers. */
  async guard<T>(work: Promise<T>): Promise<T | undefined> {
    try {
      return await work;
    } catch (e) {
      this.error(e);
      return undefined;
    }
  }
}

