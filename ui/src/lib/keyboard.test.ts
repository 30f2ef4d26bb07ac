import { describe, expect, it } from 'vitest';
import { shortcutFor, type KeyLike } from './keyboard';

const k = (key: string, mods: Partial<KeyLike> = {}): KeyLike => ({
  key,
  ctrlKey: false,
  metaKey: false,
  shiftKey: false,
  altKey: false,
  target: document.body,
  ...mods,
});

describe('shortcutFor', () => {
  it('maps the global shortcuts, with Ctrl or Cmd', () => {
    expect(shortcutFor(k('o', { ctrlKey: true }))).toBe('addFiles');
    expect(shortcutFor(k('O', { ctrlKey: true, shiftKey: true }))).toBe('addFolder');
    expect(shortcutFor(k('o', { metaKey: true }))).toBe('addFiles');
    expect(shortcutFor(k(',', { ctrlKey: true }))).toBe('settings');
    expect(shortcutFor(k('F1'))).toBe('help');
  });
  it('maps the queue shortcuts', () => {
    expect(shortcutFor(k(' '))).toBe('togglePause');
    expect(shortcutFor(k('Delete'))).toBe('remove');
    expect(shortcutFor(k('r'))).toBe('retry');
    expect(shortcutFor(k('R'))).toBe('retry');
    expect(shortcutFor(k('a', { ctrlKey: true }))).toBe('selectAll');
    expect(shortcutFor(k('ArrowUp', { altKey: true }))).toBe('moveUp');
    expect(shortcutFor(k('ArrowDown', { altKey: true }))).toBe('moveDown');
  });
  it('leaves keys alone in text fields and on buttons', () => {
    const input = document.createElement('input');
    const button = document.createElement('button');
    expect(shortcutFor(k(' ', { target: button }))).toBeNull();
    expect(shortcutFor(k('r', { target: input }))).toBeNull();
    expect(shortcutFor(k('a', { ctrlKey: true, target: input }))).toBeNull();
    // …but the app-wide ones still work there.
    expect(shortcutFor(k('o', { ctrlKey: true, target: input }))).toBe('addFiles');
  });
  it('ignores unrelated keys and modified letters', () => {
    expect(shortcutFor(k('x'))).toBeNull();
    expect(shortcutFor(k('r', { ctrlKey: true }))).toBeNull();
    expect(shortcutFor(k('ArrowUp'))).toBeNull();
  });
});
