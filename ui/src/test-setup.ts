import '@testing-library/jest-dom/vitest';
import { cleanup } from '@testing-library/svelte';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach } from 'vitest';

// jsdom has no layout: give the few APIs components touch a harmless stand-in.
if (!Element.prototype.scrollIntoView) Element.prototype.scrollIntoView = () => {};
// Svelte's bind:clientHeight observes size changes.
if (!('ResizeObserver' in globalThis)) {
  globalThis.ResizeObserver = class {
    observe() {}
    unobserve() {}
    disconnect() {}
  } as unknown as typeof ResizeObserver;
}

// Unmount first: components unlisten through the mocked IPC, which must still be there.
afterEach(() => {
  cleanup();
  clearMocks();
});
