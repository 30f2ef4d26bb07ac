//! A PanDrop shell on Tauri's mock runtime: the real invoke handler and state, a memory secret store and a
//! temporary data dir.

#![allow(dead_code)] // Not every test uses every helper.

use pandrop_engine::secrets::MemoryStore;
use pandrop_lib::progress::Hooks;
use pandrop_lib::state::{AppState, StateConfig};
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tauri::Manager;
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, mock_builder, mock_context, noop_assets};
use tauri::webview::InvokeRequest;
use tempfile::TempDir;

pub(crate) struct Shell {
    // First field: dropped first, so the queue stops before the app goes away.
    guard: Shutdown,
    pub(crate) app: tauri::App<MockRuntime>,
    pub(crate) webview: tauri::WebviewWindow<MockRuntime>,
    pub(crate) dir: TempDir,
    /// Every command's answer, as the page received it (for the secrets audit).
    pub(crate) transcript: Arc<Mutex<Vec<String>>>,
}

impl Shell {
    pub(crate) fn start() -> Self {
        Self::start_in(TempDir::new().unwrap())
    }

    pub(crate) fn start_in(dir: TempDir) -> Self {
        let builder = pandrop_lib::specta_builder::<MockRuntime>();
        let app = mock_builder()
            .invoke_handler(builder.invoke_handler())
            .build(mock_context(noop_assets()))
            .expect("mock app");
        builder.mount_events(&app);
        let config = StateConfig {
            data_dir: dir.path().to_path_buf(),
            secrets: Arc::new(MemoryStore::default()),
            hooks: Hooks::default(),
        };
        let state = tauri::async_runtime::block_on(AppState::open(config)).expect("state");
        app.manage(state);
        let webview = tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .expect("webview");
        let guard = Shutdown(app.handle().clone());
        Self {
            guard,
            app,
            webview,
            dir,
            transcript: Arc::default(),
        }
    }

    /// Stops the app and hands back its data dir, for a restart.
    pub(crate) fn stop(self) -> TempDir {
        let Shell {
            guard, app, webview, dir, ..
        } = self;
        drop(guard);
        drop((webview, app));
        dir
    }

    pub(crate) fn state(&self) -> tauri::State<'_, AppState> {
        self.app.state::<AppState>()
    }

    /// Invokes a command through the real handler: `Ok(data)` or `Err({code, message})`.
    pub(crate) fn invoke(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke_on(&self.webview, &self.transcript, cmd, args)
    }

    pub(crate) fn ok(&self, cmd: &str, args: Value) -> Value {
        self.invoke(cmd, args).unwrap_or_else(|e| panic!("{cmd} failed: {e}"))
    }

    pub(crate) fn err_code(&self, cmd: &str, args: Value) -> String {
        let err = self.invoke(cmd, args).expect_err(cmd);
        err["code"]
            .as_str()
            .unwrap_or_else(|| panic!("{cmd}: not an IpcError: {err}"))
            .to_owned()
    }

    /// Waits until every task has finished (done, instant, failed or cancelled).
    pub(crate) fn wait_finished(&self) -> Vec<Value> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let tasks = self.state().store.tasks().unwrap();
            if tasks.iter().all(|t| t.state.is_finished()) {
                return tasks
                    .into_iter()
                    .map(|t| serde_json::to_value(pandrop_lib::dto::TaskDto::from(t)).unwrap())
                    .collect();
            }
            assert!(Instant::now() < deadline, "tasks did not finish: {tasks:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Starts the send-to desk as the app does; answers its inbox.
    pub(crate) fn start_sendto(&self) -> pandrop_lib::sendto::Inbox {
        let (inbox, arrivals) = pandrop_lib::sendto::inbox();
        self.app.manage(pandrop_lib::sendto::SendTo::start(self.app.handle(), arrivals));
        inbox
    }

    pub(crate) fn file(&self, name: &str, len: usize) -> String {
        let path = self.dir.path().join("files").join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
        std::fs::write(&path, bytes).unwrap();
        // As if the user dropped it on the window: the page may name only such files.
        self.state().grants.allow([path.clone()]);
        path.display().to_string()
    }
}

/// Invokes a command on `webview` (from any thread: a command that waits blocks only its caller), recording
/// the answer in `transcript`.
pub(crate) fn invoke_on(
    webview: &tauri::WebviewWindow<MockRuntime>,
    transcript: &Mutex<Vec<String>>,
    cmd: &str,
    args: Value,
) -> Result<Value, Value> {
    let request = InvokeRequest {
        cmd: cmd.into(),
        callback: CallbackFn(0),
        error: CallbackFn(1),
        url: "tauri://localhost".parse().unwrap(),
        body: InvokeBody::Json(args),
        headers: Default::default(),
        invoke_key: INVOKE_KEY.to_string(),
    };
    let answer = tauri::test::get_ipc_response(webview, request).map(|body| body.deserialize::<Value>().expect("json"));
    let text = match &answer {
        Ok(v) | Err(v) => v.to_string(),
    };
    transcript.lock().unwrap().push(format!("{cmd}: {text}"));
    answer
}

struct Shutdown(tauri::AppHandle<MockRuntime>);

impl Drop for Shutdown {
    fn drop(&mut self) {
        if let Some(desk) = self.0.try_state::<pandrop_lib::sendto::SendTo>() {
            tauri::async_runtime::block_on(desk.shutdown());
        }
        tauri::async_runtime::block_on(self.0.state::<AppState>().shutdown());
    }
}
