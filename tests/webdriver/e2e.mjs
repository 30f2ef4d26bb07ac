// End-to-end test of the desktop app in a real WebKit window, driven by WebDriver (tauri-driver in front
// of WebKitWebDriver) with plain W3C HTTP calls. Started by tests/webdriver/run.sh, which provides the X
// display, the D-Bus session with an unlocked keyring, a fresh HOME and data dir, and tauri-driver.
//
//   node tests/webdriver/e2e.mjs            the app flow (needs the env below)
//   node tests/webdriver/e2e.mjs --bare     a harness self-check against the bare window of bench/bare-window
//
// Environment: WEBDRIVER_URL (tauri-driver), APP (the binary), OUT_DIR (screenshots), and for the app flow
// PANDROP_DATA_DIR (the app's data dir, also inherited by the app through tauri-driver), WORK_DIR (scratch
// space for the generated file) and GREP_DIRS (colon-separated dirs searched for the secret).
import { randomBytes } from "node:crypto";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const env = (name) => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set (run tests/webdriver/run.sh)`);
  return v;
};
const WD = env("WEBDRIVER_URL");
const APP = env("APP");
const OUT_DIR = env("OUT_DIR");
const bare = process.argv.includes("--bare");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.log(`[e2e ${(performance.now() / 1000).toFixed(1)}s] ${msg}`);

class Failure extends Error {}
const fail = (msg) => {
  throw new Failure(msg);
};

// ---- W3C WebDriver over HTTP ----

async function wd(method, path, body, timeoutMs = 60_000) {
  let res;
  try {
    res = await fetch(WD + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (e) {
    fail(`WebDriver ${method} ${path}: ${e.message}`);
  }
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    fail(`WebDriver ${method} ${path}: HTTP ${res.status}, not JSON: ${text.slice(0, 300)}`);
  }
  if (!res.ok || (json.value && json.value.error)) {
    const v = json.value || {};
    const err = new Failure(`WebDriver ${method} ${path}: ${v.error || res.status}: ${v.message || text.slice(0, 300)}`);
    err.wdError = v.error;
    throw err;
  }
  return json.value;
}

// W3C names the element reference "element-6066-11e4-a6c6-4c5ebf2ed9c5"; WebKitWebDriver answers with
// "element-6066-11e4-a52e-4f735466cecf". Take whichever is there.
const elementId = (e) => e["element-6066-11e4-a6c6-4c5ebf2ed9c5"] ?? Object.values(e)[0];
let session = null;
const s = (path) => `/session/${session}${path}`;

async function newSession() {
  const value = await wd(
    "POST",
    "/session",
    { capabilities: { alwaysMatch: { "tauri:options": { application: APP } } } },
    120_000,
  );
  session = value.sessionId;
  log(`session ${session} (${value.capabilities?.browserName ?? "?"} ${value.capabilities?.browserVersion ?? ""})`);
}

async function findAll(css) {
  const els = await wd("POST", s("/elements"), { using: "css selector", value: css });
  return els.map(elementId);
}
const text = (el) => wd("GET", s(`/element/${el}/text`));
const attr = (el, name) => wd("GET", s(`/element/${el}/attribute/${encodeURIComponent(name)}`));
const click = (el) => wd("POST", s(`/element/${el}/click`), {});

// Runs an async function body in the page; `done(value)` is the last argument.
const execAsync = (script, args = []) => wd("POST", s("/execute/async"), { script, args }, 90_000);
const exec = (script, args = []) => wd("POST", s("/execute/sync"), { script, args });

// Calls a Tauri command from the page. Resolves to {ok: value} or {err: error}.
async function invoke(cmd, args = {}) {
  const r = await execAsync(
    `const done = arguments[arguments.length - 1];
     window.__TAURI_INTERNALS__.invoke(arguments[0], arguments[1])
       .then((v) => done({ ok: v === undefined ? null : v }), (e) => done({ err: e === undefined ? null : e }));`,
    [cmd, args],
  );
  return r;
}
async function invokeOk(cmd, args = {}) {
  const r = await invoke(cmd, args);
  if ("err" in r) fail(`invoke ${cmd} failed: ${JSON.stringify(r.err)}`);
  return r.ok;
}

// Polls fn until it returns a truthy value; fails with what(last) after timeoutMs.
async function waitFor(what, fn, timeoutMs = 30_000, everyMs = 200) {
  const start = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last && last.ok !== false) return last;
    } catch (e) {
      // Stale elements and the like are retried; a lost session or window is not.
      if (!(e instanceof Failure) || e.wdError === undefined) throw e;
      if (e.wdError === "invalid session id" || e.wdError === "no such window") throw e;
      last = e.message;
    }
    if (Date.now() - start > timeoutMs) {
      fail(`timed out after ${timeoutMs / 1000} s waiting for ${what}; last seen: ${JSON.stringify(last)}`);
    }
    await sleep(everyMs);
  }
}

async function screenshot(name) {
  const b64 = await wd("GET", s("/screenshot"));
  const file = join(OUT_DIR, name);
  writeFileSync(file, Buffer.from(b64, "base64"));
  log(`screenshot: ${file}`);
}

// ---- the flows ----

async function bareFlow() {
  const el = await waitFor("the bare page's paragraph", async () => (await findAll('[data-testid="bare"]'))[0]);
  const t = await text(el);
  if (t !== "bare window") fail(`bare page text: ${JSON.stringify(t)}`);
  const hasIpc = await exec("return typeof window.__TAURI_INTERNALS__?.invoke === 'function';");
  if (!hasIpc) fail("window.__TAURI_INTERNALS__.invoke is missing");
  await screenshot("bare-window.png");
  log("bare window: session, find element, text, script, screenshot all work");
}

// The row of a task id: {id, state, text} or null.
async function row(id) {
  const els = await findAll(`[data-task-id="${id}"]`);
  if (els.length === 0) return null;
  return { id, state: await attr(els[0], "data-state"), text: await text(els[0]) };
}

async function taskIds() {
  const els = await findAll("[data-task-id]");
  const ids = [];
  for (const el of els) ids.push(await attr(el, "data-task-id"));
  return ids;
}

// Waits until the row of task `id` has data-state `state` and shows `word`; fails early on "failed".
async function waitForRowState(id, state, word, timeoutMs) {
  return waitFor(
    `task ${id} to reach state "${state}" showing "${word}"`,
    async () => {
      const r = await row(id);
      if (r && (r.state === "failed" || r.state === "cancelled") && state !== r.state) {
        fail(`task ${id} ended in state "${r.state}": ${r.text}`);
      }
      return r && r.state === state && r.text.includes(word) ? r : { ok: false, ...r };
    },
    timeoutMs,
  );
}

// Runs `APP args` from `cwd` as a file manager would: it must hand over and exit 0 within 2 s.
function launch(args, cwd) {
  const t0 = performance.now();
  const r = spawnSync(APP, args, { cwd, timeout: 15_000, encoding: "utf8" });
  const ms = performance.now() - t0;
  if (r.error) fail(`${APP} ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) fail(`${APP} ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  if (ms > 2000) fail(`${APP} ${args.join(" ")} took ${ms.toFixed(0)} ms to hand over (limit 2000 ms)`);
  log(`${APP.split("/").pop()} ${args.join(" ")}: exit 0 after ${ms.toFixed(0)} ms`);
}

// Waits for rows that are not in `known`; answers their ids once there are `n`.
async function newRows(known, n) {
  const ids = await waitFor(`${n} new queue row(s)`, async () => {
    const fresh = (await taskIds()).filter((id) => !known.includes(id));
    return fresh.length >= n ? fresh : null;
  });
  if (ids.length !== n) fail(`expected ${n} new rows, got ${ids.length}: ${ids}`);
  return ids;
}

// `pandrop send FILES` from `cwd`, then answers the confirm sheet (ticking "always" with `remember`); answers
// the new rows' ids.
async function sendAndConfirm(files, cwd, { remember = false, expect = "" } = {}) {
  const known = await taskIds();
  launch(["send", ...files], cwd);
  await waitFor("the send-to sheet", async () => (await findAll('[data-testid="sendto-sheet"]'))[0], 15_000);
  const summary = await text((await findAll('[data-testid="sendto-summary"]'))[0]);
  if (!summary.startsWith(expect)) fail(`the send-to sheet says ${JSON.stringify(summary)}, expected ${expect}`);
  log(`send-to sheet: ${summary}`);
  if (remember) {
    await screenshot("sendto-sheet.png");
    await click((await findAll('[data-testid="sendto-remember"]'))[0]);
  }
  await click((await findAll('[data-testid="sendto-confirm"]'))[0]);
  return newRows(known, files.length);
}

// Every file under dir (recursively, or dir itself when it is a file) that holds the needle; unreadable
// entries are skipped.
function grepTree(dir, needle, skip = []) {
  const hits = [];
  try {
    if (statSync(dir).isFile()) return readFileSync(dir).includes(needle) ? [dir] : [];
  } catch {
    return [];
  }
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (skip.some((x) => p.startsWith(x))) continue;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        try {
          if (readFileSync(p).includes(needle)) hits.push(p);
        } catch {}
      }
    }
  };
  walk(dir);
  return hits;
}

function listTree(dir) {
  const out = [];
  const walk = (d) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.push(`${p} (${statSync(p).size} B)`);
    }
  };
  walk(dir);
  return out;
}

const typeInto = async (el, value) => {
  await wd("POST", s(`/element/${el}/clear`), {});
  await wd("POST", s(`/element/${el}/value`), { text: value });
};
const one = async (what, css, timeoutMs = 15_000) => waitFor(what, async () => (await findAll(css))[0], timeoutMs);

async function halalCloudByCode(work) {
  const base = (await invokeOk("app_info")).sandboxUrl?.replace(/\/+$/, "");
  if (!base) fail("app_info has no sandboxUrl while the sandbox runs");
  const endpoint = `${base}/halalcloud`;
  const name = "HalalCloud by code";

  await click(await one("the account menu button", "button.account"));
  await click(await one("Manage accounts", '[data-action="manage"]'));
  await one("the accounts dialog", '[data-testid="accounts-dialog"]');
  await click(await one("+ Add account", '[data-testid="accounts-dialog"] button.add'));
  await click(await one("the HalalCloud option", '#pf-provider option[value="halalcloud"]'));
  await waitFor("the form to show HalalCloud", async () => (await exec('return document.querySelector("#pf-provider").value;')) === "halalcloud");
  await typeInto(await one("the name field", "#pf-name"), name);
  await typeInto(await one("the folder field", "#pf-dir"), "/webdriver-halal");
  await typeInto(await one("the server address field", "#pf-endpoint"), endpoint);
  await click(await one('"Sign in with a code"', '[data-testid="device-sign-in"]'));

  const failedSignIn = async () => {
    const panel = (await findAll('[data-testid="device-sign-in-panel"]'))[0];
    if (panel && (await attr(panel, "data-phase")) === "failed") {
      fail(`the sign-in failed: ${await text((await findAll('[data-testid="device-status"]'))[0])}`);
    }
  };
  const codeEl = await waitFor("the code", async () => {
    await failedSignIn();
    return (await findAll('[data-testid="device-code"]'))[0];
  });
  const code = (await text(codeEl)).trim();
  const address = (await text(await one("the address", '[data-testid="device-address"]'))).trim();
  const countdown = await text(await one("the countdown", '[data-testid="device-countdown"]'));
  if (!/^[A-Z0-9-]{4,}$/i.test(code)) fail(`the page shows ${JSON.stringify(code)} as the code`);
  log(`sign-in by code: ${code} at ${address} (${countdown.trim()})`);
  await screenshot("device-sign-in.png");

  // The user enters the code at the website.
  const approved = await fetch(`${base}/_admin/halalcloud/approve`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user_code: code }),
  });
  if (!approved.ok) fail(`approving ${code}: HTTP ${approved.status} ${await approved.text()}`);

  // The form closes as a saved account (the app polls every few seconds).
  await waitFor(
    "the sign-in to save the account",
    async () => {
      await failedSignIn();
      return (await findAll('[data-testid="profile-form"]')).length === 0;
    },
    60_000,
    500,
  );
  const profiles = await invokeOk("profiles_list");
  const halal = profiles.find((p) => p.provider === "halalcloud" && p.name === name);
  if (!halal) fail(`no HalalCloud profile after the sign-in: ${JSON.stringify(profiles)}`);
  if (!halal.hasSecret || halal.endpoint.replace(/\/$/, "") !== endpoint) fail(`the saved profile: ${JSON.stringify(halal)}`);
  const item = await one("the new account in the list", `[data-profile-id="${halal.id}"]`);
  log(`signed in by code: profile ${halal.id} (${(await text(item)).replace(/\s+/g, " ")})`);

  // Use it, and send a file to it through the sheet (which asks again once the remembered target is forgotten).
  await click(await one("its Use button", `[data-profile-id="${halal.id}"] .actions button`));
  await waitFor("the HalalCloud account to be active", async () => (await invokeOk("profiles_list")).find((p) => p.id === halal.id)?.active);
  await click(await one("the dialog's close button", '[data-testid="accounts-dialog"] button.close'));
  await invokeOk("sendto_forget");
  const file = join(work, `halal-${randomBytes(4).toString("hex")}.bin`);
  writeFileSync(file, randomBytes(5 * 1024 * 1024 + 123));
  const [id] = await sendAndConfirm([file], work, { expect: "1 file" });
  const done = await waitForRowState(id, "done", "Uploaded", 120_000);
  log(`task ${id} to HalalCloud: ${done.state} (${done.text.replace(/\s+/g, " ")})`);
  const files = await (await fetch(`${base}/_admin/files`)).json();
  const remote = `/webdriver-halal/${file.split("/").pop()}`;
  const stored = files.find((f) => f.provider === "halalcloud" && f.path === remote);
  if (!stored || stored.size !== 5 * 1024 * 1024 + 123) fail(`the cloud lists no ${remote} under halalcloud: ${JSON.stringify(files)}`);
  log(`the cloud holds ${remote} (${stored.size} B) under provider halalcloud`);
}

const SECRET = `pandrop-webdriver-fake-secret-${randomBytes(8).toString("hex")}`;

async function appFlow() {
  const dataDir = env("PANDROP_DATA_DIR");
  const work = env("WORK_DIR");

  // 1. A fresh start shows the empty queue offering "Try the sandbox".
  const trySandbox = await waitFor(
    'the "Try the sandbox" button',
    async () => (await findAll('[data-testid="try-sandbox"]'))[0],
    60_000,
  );
  const rows0 = await taskIds();
  if (rows0.length !== 0) fail(`a fresh start shows ${rows0.length} queue rows, expected none`);
  const info = await invokeOk("app_info");
  log(`app_info: version ${info.version}, dataDir ${info.dataDir}, keyring ${JSON.stringify(info.keyring)}`);
  if (info.dataDir !== dataDir) log(`note: the app's data dir is ${info.dataDir}, PANDROP_DATA_DIR is ${dataDir}`);
  log('fresh start: empty queue with "Try the sandbox"');

  // 2. Try the sandbox: the sandbox profile becomes the active one.
  await click(trySandbox);
  const sandbox = await waitFor("an active sandbox profile", async () => {
    const profiles = await invokeOk("profiles_list");
    return profiles.find((p) => p.sandbox && p.active);
  });
  log(`sandbox profile active: ${sandbox.name} (${sandbox.provider}, ${sandbox.endpoint})`);
  await waitFor(
    '"Try the sandbox" to go away',
    async () => (await findAll('[data-testid="try-sandbox"]')).length === 0,
    15_000,
  );

  // 3. An 8 MiB file of random bytes, sent from another process as a file manager does, is uploaded.
  mkdirSync(work, { recursive: true });
  const file = join(work, `webdriver-${randomBytes(4).toString("hex")}.bin`);
  writeFileSync(file, randomBytes(8 * 1024 * 1024));
  const [first] = await sendAndConfirm([file], work, { expect: "1 file" });
  log(`sent ${file} as task ${first}`);
  const done = await waitForRowState(first, "done", "Uploaded", 120_000);
  log(`task ${first}: ${done.state} (${done.text.replace(/\s+/g, " ")})`);

  // 4. The same bytes again: an instant upload.
  const [second] = await sendAndConfirm([file], work, { expect: "1 file" });
  log(`sent the same file again as task ${second}`);
  const instant = await waitForRowState(second, "instant", "Instant", 120_000);
  log(`task ${second}: ${instant.state} (${instant.text.replace(/\s+/g, " ")})`);

  // 5. Two files named relative to the sender's folder, in one command; "always" is ticked this time.
  const sent = ["a", "b"].map((n) => join(work, `${n}.bin`));
  sent.forEach((f, i) => writeFileSync(f, randomBytes((3 - i) * 1024 * 1024)));
  const pair = await sendAndConfirm(["a.bin", "b.bin"], work, { remember: true, expect: "2 files" });
  for (const id of pair) {
    const r = await waitForRowState(id, "done", "Uploaded", 120_000);
    log(`sent task ${id}: ${r.state} (${r.text.replace(/\s+/g, " ")})`);
  }
  const remembered = await invokeOk("sendto_target");
  if (remembered?.profileId !== sandbox.id) fail(`"always" remembered ${JSON.stringify(remembered)}`);

  //    The plain form (`pandrop FILE`, as the desktop entry runs it) with the target remembered: no sheet.
  const third = join(work, "c.bin");
  writeFileSync(third, randomBytes(1024 * 1024));
  const before = await taskIds();
  launch([third], "/");
  const [c] = await newRows(before, 1);
  if ((await findAll('[data-testid="sendto-sheet"]')).length !== 0) fail("the sheet asked although a target is remembered");
  const cDone = await waitForRowState(c, "done", "Uploaded", 120_000);
  log(`remembered target: task ${c} ${cDone.state} without asking`);

  // 6. The page cannot queue a file the user did not hand over.
  const report = await invokeOk("queue_add_paths", { paths: [third], profileId: null, remoteDir: null });
  if (report.added !== 0 || !/not dropped/.test(report.rejected[0]?.message ?? "")) {
    fail(`queue_add_paths took a file nobody dropped or picked: ${JSON.stringify(report)}`);
  }
  log(`queue_add_paths with a file nobody dropped: refused (${report.rejected[0].message})`);

  // 7. A HalalCloud account on the sandbox cloud, signed in by a code entered at its (fake) website: the
  //    form shows the code, the "user" enters it, the account appears and takes an upload.
  await halalCloudByCode(work);

  await sleep(500); // let the last progress frame settle before the picture
  await screenshot("pandrop.png");
  try {
    execFileSync("import", ["-window", "root", join(OUT_DIR, "screen.png")], { stdio: "ignore", timeout: 20_000 });
    log(`screenshot: ${join(OUT_DIR, "screen.png")} (the whole X screen)`);
  } catch (e) {
    log(`note: import -window root failed: ${e.message}`);
  }

  // 8. A secret goes to the keyring only.
  const saved = await invokeOk("profile_save", {
    input: {
      id: null,
      provider: "123pan",
      name: "WebDriver secret check",
      endpoint: null,
      defaultDir: "/",
      fields: { client_id: "webdriver-client-id" },
      secret: SECRET,
    },
  });
  if (!saved.hasSecret) fail(`profile_save returned hasSecret=false: ${JSON.stringify(saved)}`);
  const listed = await invokeOk("profiles_list");
  if (JSON.stringify(listed).includes(SECRET)) fail("profiles_list returned the secret over IPC");
  log(`saved 123pan profile ${saved.id} with a secret (hasSecret: ${saved.hasSecret})`);

  // 9. The page can call only what the capability grants, and its CSP refuses eval and remote scripts.
  for (const [cmd, args] of [
    ["plugin:notification|notify", { options: { title: "from the page" } }],
    ["plugin:dialog|open", { options: {} }],
    ["plugin:dialog|save", { options: {} }],
  ]) {
    const r = await invoke(cmd, args);
    if (!("err" in r) || !/not allowed/i.test(JSON.stringify(r.err))) fail(`${cmd} was not refused: ${JSON.stringify(r)}`);
  }
  log("commands outside the capability are refused (notification, dialog open and save)");
  const evalResult = await exec('try { return "ran: " + eval("40 + 2"); } catch (e) { return "refused: " + e.name; }');
  if (!evalResult.startsWith("refused")) fail(`eval in the page: ${evalResult}`);
  // Nothing remote loads: a script, a fetch or an image from elsewhere is refused by the CSP.
  const loads = {
    "a remote script": `const s = document.createElement("script"); s.src = "http://127.0.0.1:9/remote.js";
                        s.onload = () => done("loaded"); document.head.appendChild(s);`,
    "a remote fetch": `fetch("http://127.0.0.1:9/data.json").then(() => done("loaded"), () => {});`,
    "a remote image": `const i = new Image(); i.onload = () => done("loaded"); i.src = "http://127.0.0.1:9/pixel.png";`,
  };
  const verdicts = [];
  for (const [what, code] of Object.entries(loads)) {
    const verdict = await execAsync(
      `const done = arguments[arguments.length - 1];
       document.addEventListener("securitypolicyviolation", (e) => done("refused: " + e.violatedDirective), { once: true });
       ${code}
       setTimeout(() => done("no verdict"), 5000);`,
    );
    if (!verdict.startsWith("refused")) fail(`${what}: ${verdict}`);
    verdicts.push(`${what} ${verdict}`);
  }
  log(`CSP: eval ${evalResult}; ${verdicts.join("; ")}`);
}

function checkSecrets(when) {
  const dirs = (process.env.GREP_DIRS || env("PANDROP_DATA_DIR")).split(":").filter(Boolean);
  const skip = (process.env.GREP_SKIP || "").split(":").filter(Boolean);
  // The search itself must work: it finds the secret in a file planted for the purpose.
  const control = join(env("WORK_DIR"), "control");
  mkdirSync(control, { recursive: true });
  writeFileSync(join(control, "planted.bin"), Buffer.concat([randomBytes(100), Buffer.from(SECRET), randomBytes(100)]));
  if (grepTree(control, SECRET).length !== 1) fail("the secret search does not find a planted copy");
  const hits = dirs.flatMap((d) => grepTree(d, SECRET, skip));
  if (hits.length > 0) fail(`the secret was found on disk (${when}): ${hits.join(", ")}`);
  log(`secret check (${when}): not in ${dirs.join(", ")}`);
}

async function main() {
  mkdirSync(OUT_DIR, { recursive: true });
  await newSession();
  let ok = false;
  try {
    if (bare) await bareFlow();
    else {
      await appFlow();
      checkSecrets("app running");
    }
    ok = true;
  } finally {
    if (!ok) {
      try {
        await screenshot(bare ? "bare-window-failure.png" : "pandrop-failure.png");
      } catch {}
    }
    try {
      await wd("DELETE", s(""), undefined, 30_000);
    } catch (e) {
      log(`closing the session: ${e.message}`);
    }
  }
  if (!bare) {
    await sleep(1000); // the app has quit: whatever it flushes on the way out is on disk now
    checkSecrets("after quit");
    log(`data dir:\n  ${listTree(env("PANDROP_DATA_DIR")).join("\n  ")}`);
  }
  console.log(bare ? "webdriver harness self-check: passed" : "webdriver e2e: passed");
  console.log("1 passed, 0 failed");
}

main().catch((e) => {
  console.error(`webdriver e2e FAILED: ${e instanceof Failure ? e.message : e.stack}`);
  console.log("0 passed, 1 failed");
  process.exit(1);
});
