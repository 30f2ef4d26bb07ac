// Injected before the built UI loads (Playwright addInitScript). It stands in for Tauri: it defines
// window.__TAURI_INTERNALS__ (invoke, transformCallback, runCallback, metadata) the way the real webview does,
// answers the commands of docs/ipc.md from a small simulated queue, and delivers channel messages through the
// channel's callback id with a running index, as Tauri does. Tests drive and inspect it through window.__fake.
(() => {
  const callbacks = new Map();
  let nextCallback = 1;
  const listeners = new Map(); // event name -> Set of callback ids
  const calls = [];
  let channel = null;
  let channelIndex = 0;

  const MiB = 1024 * 1024;
  const state = {
    info: {
      version: '0.1.0-test',
      dataDir: '/tmp/pandrop-test',
      systemLocale: 'en-US',
      keyring: { available: true, message: null },
      sandboxUrl: null,
      providers: window.__PROVIDERS__,
    },
    settings: { filesInParallel: 2, slicesPerFile: 4, speedLimit: null, duplicate: 'keep_both', language: 'system', theme: 'light' },
    profiles: [
      {
        id: 'p1', provider: '123pan', name: '我的账号', endpoint: 'https://open-api.123pan.com', defaultDir: '/照片/2026',
        fields: { client_id: 'cid' }, hasSecret: true, sandbox: false, active: true, signedInByCode: false,
      },
    ],
    tasks: [],
    nextId: 1,
    /** Bytes per second each simulated upload moves. Slow enough that a test can catch a row mid-upload. */
    rate: 4 * MiB,
    running: true,
    pickResult: ['/home/me/photos/IMG_0012.HEIC', '/home/me/backup-2026-11.tar', '/home/me/a|b.txt'],
    /** Started sign-ins by code, by id. */
    signIns: {},
  };

  // What the engine's lifecycle allows per state (src/test/lifecycle.json, written from the engine; run.mjs
  // puts it here): the shell sends it with every row.
  const ALLOWED = window.__LIFECYCLE__;

  const copy = (t) => ({ ...t, error: t.error ? { ...t.error } : null, allowedActions: ALLOWED[t.state] });

  function transformCallback(cb, once = false) {
    const id = nextCallback++;
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      if (cb) cb(data);
    });
    return id;
  }
  function runCallback(id, data) {
    const cb = callbacks.get(id);
    if (cb) cb(data);
  }
  function send(message) {
    if (channel !== null) runCallback(channel, { index: channelIndex++, message });
  }
  function snapshot() {
    send({ kind: 'snapshot', tasks: state.tasks.map(copy) });
  }
  function setState(t, s, extra = {}) {
    Object.assign(t, { state: s }, extra);
    send({ kind: 'state', task: copy(t) });
  }
  function emit(event, payload) {
    for (const id of listeners.get(event) ?? []) runCallback(id, { event, id, payload });
  }
  function basename(p) {
    return p.split(/[\\/]/).pop();
  }
  function sizeFor(name) {
    if (name.endsWith('.tar')) return 60 * MiB;
    if (name.endsWith('.HEIC')) return 3 * MiB + 100 * 1024;
    return 12;
  }
  function addTask(path, profileId, remoteDir, extra = {}) {
    const name = basename(path);
    const profile = state.profiles.find((p) => p.id === profileId) ?? state.profiles.find((p) => p.active);
    const t = {
      id: state.nextId++, name, localPath: path, size: sizeFor(name), profileId: profile ? profile.id : 'p1',
      remoteDir: remoteDir ?? (profile ? profile.defaultDir : '/'), state: 'queued', bytesDone: 0, error: null,
      remoteId: null, position: state.nextId, attempts: 0, bytesHeld: 0, ...extra,
    };
    t._done = 0;
    state.tasks.push(t);
    return t;
  }
  const byIds = (ids) => state.tasks.filter((t) => ids.includes(t.id));
  const RUNNING = ['hashing', 'preparing', 'uploading', 'completing'];

  // The simulated engine: up to filesInParallel tasks run; names with '|' fail as 123pan would refuse them.
  function tick() {
    if (!state.running) return;
    const dt = 0.1;
    let active = state.tasks.filter((t) => RUNNING.includes(t.state));
    for (const t of state.tasks) {
      if (active.length >= state.settings.filesInParallel) break;
      if (t.state !== 'queued') continue;
      if (t.name.includes('|')) {
        setState(t, 'failed', { error: { code: 'invalid_input', message: 'name has | which 123pan forbids' }, attempts: 1 });
        continue;
      }
      setState(t, 'uploading');
      active = active.concat(t);
    }
    const progress = [];
    for (const t of active) {
      t._done = Math.min(t.size, t._done + state.rate * dt);
      if (t._done >= t.size) {
        setState(t, t.name.startsWith('dup') ? 'instant' : 'done', { bytesDone: t.size });
        continue;
      }
      progress.push({ id: t.id, phase: 'uploading', done: Math.floor(t._done), total: t.size, bytesPerSec: state.rate, etaSecs: (t.size - t._done) / state.rate });
    }
    if (progress.length) send({ kind: 'progress', tasks: progress });
  }
  setInterval(tick, 100);

  async function invoke(cmd, args = {}) {
    calls.push({ cmd, args: JSON.parse(JSON.stringify(args ?? {})) });
    switch (cmd) {
      case 'plugin:event|listen': {
        if (!listeners.has(args.event)) listeners.set(args.event, new Set());
        listeners.get(args.event).add(args.handler);
        return args.handler;
      }
      case 'plugin:event|unlisten':
        listeners.get(args.event)?.delete(args.eventId);
        return null;
      case 'pick_paths':
        return state.pickResult;
      case 'app_info':
        return state.info;
      case 'settings_get':
        return state.settings;
      case 'settings_set':
        state.settings = args.settings;
        return state.settings;
      case 'profiles_list':
        return state.profiles;
      case 'queue_subscribe': {
        const ch = args.onEvent;
        channel = typeof ch === 'object' ? ch.id : Number(String(ch).split(':')[1]);
        channelIndex = 0;
        setTimeout(snapshot, 0);
        return null;
      }
      case 'queue_add_paths': {
        if (!state.profiles.some((p) => p.active)) throw { code: 'no_profile', message: 'no active profile' };
        for (const p of args.paths) addTask(p, args.profileId, args.remoteDir);
        snapshot();
        return { added: args.paths.length, rejected: [] };
      }
      case 'queue_pause':
        for (const t of byIds(args.ids)) if (t.state === 'queued' || RUNNING.includes(t.state)) setState(t, 'paused', { bytesDone: Math.floor(t._done) });
        return null;
      case 'queue_resume':
        for (const t of byIds(args.ids)) if (t.state === 'paused') setState(t, 'queued');
        return null;
      case 'queue_cancel':
        for (const t of byIds(args.ids)) setState(t, 'cancelled');
        return null;
      case 'queue_retry':
        for (const t of byIds(args.ids)) if (t.state === 'failed' || t.state === 'cancelled') setState(t, 'queued', { error: null });
        return null;
      case 'queue_remove':
        state.tasks = state.tasks.filter((t) => !args.ids.includes(t.id));
        snapshot();
        return null;
      case 'profile_test':
        return state.testAnswer ?? { ok: true, message: 'signed in as 我的账号' };
      case 'profile_activate':
        for (const p of state.profiles) p.active = p.id === args.id;
        return null;
      case 'queue_move':
      case 'queue_pause_all':
      case 'queue_resume_all':
        return null;
      case 'queue_retry_failed':
        return 0;
      case 'queue_clear_finished': {
        const before = state.tasks.length;
        state.tasks = state.tasks.filter((t) => !['done', 'instant', 'cancelled'].includes(t.state));
        snapshot();
        return before - state.tasks.length;
      }
      // Sign-in by a code: the "user" enters it when a test calls window.__fake.approve().
      case 'device_sign_in_start': {
        const id = state.nextSignIn = (state.nextSignIn ?? 0) + 1;
        state.signIns[id] = { provider: args.provider, endpoint: args.endpoint, approve: null, cancel: null };
        return { id, userCode: `CODE-000${id}`, verificationUri: 'https://www.2dland.cn/device', expiresInSecs: 600 };
      }
      case 'device_sign_in_finish': {
        const signIn = state.signIns[args.id];
        if (!signIn) throw { code: 'not_found', message: `there is no sign-in ${args.id}` };
        return new Promise((resolve, reject) => {
          signIn.approve = () => {
            delete state.signIns[args.id];
            const p = { ...args.input, id: `signed-in-${args.id}`, endpoint: signIn.endpoint ?? 'https://openapi.2dland.cn', hasSecret: true, sandbox: false, active: false, signedInByCode: true, secret: undefined };
            delete p.secret;
            state.profiles = [...state.profiles, p];
            resolve(p);
          };
          signIn.cancel = () => reject({ code: 'cancelled', message: 'cancelled' });
        });
      }
      case 'device_sign_in_cancel': {
        const signIn = state.signIns[args.id];
        if (!signIn) throw { code: 'not_found', message: `there is no sign-in ${args.id}` };
        delete state.signIns[args.id];
        signIn.cancel?.();
        return null;
      }
      case 'sendto_ready':
        return [];
      case 'sendto_target':
        return null;
      case 'integration_status':
        return { supported: true, installed: false, entries: [] };
      default:
        throw { code: 'not_found', message: `mock shell: no command ${cmd}` };
    }
  }

  window.__TAURI_INTERNALS__ = {
    invoke,
    transformCallback,
    unregisterCallback: (id) => callbacks.delete(id),
    runCallback,
    callbacks,
    metadata: { currentWindow: { label: 'main' }, currentWebview: { windowLabel: 'main', label: 'main' } },
    convertFileSrc: (p) => p,
  };
  window.__TAURI_EVENT_PLUGIN_INTERNALS__ = { unregisterListener: () => {} };

  window.__fake = {
    state,
    calls,
    emit,
    send,
    called: (cmd) => calls.filter((c) => c.cmd === cmd).map((c) => c.args),
    /** The user enters the code of the sign-in showing `userCode` at the cloud's website. */
    approve(userCode) {
      const id = Number(userCode.split('-')[1]);
      state.signIns[id]?.approve?.();
    },
    /** Replaces the queue with n waiting tasks (the 10 000-row test), without running them. */
    seed(n) {
      state.running = false;
      state.tasks = [];
      for (let i = 0; i < n; i++) addTask(`/data/set/file-${String(i + 1).padStart(5, '0')}.bin`, null, null);
      snapshot();
    },
  };
})();
