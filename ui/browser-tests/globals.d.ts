// The mock shell's test handle (mock-ipc.js), as seen from page.evaluate callbacks.
interface Window {
  __fake: {
    state: { settings: { language: string }; profiles: unknown[]; testAnswer?: unknown } & Record<string, unknown>;
    calls: { cmd: string; args: Record<string, unknown> }[];
    called(cmd: string): { ids: number[] }[] & Record<string, unknown>[];
    emit(event: string, payload: unknown): void;
    send(message: unknown): void;
    seed(n: number): void;
    approve(userCode: string): void;
  };
}
