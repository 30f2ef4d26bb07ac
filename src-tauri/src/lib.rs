//! PanDrop's desktop shell: IPC commands over the engine, the queue channel, the tray, the sandbox, and
//! "Send to PanDrop" (one running instance, file-manager entries).
//!
//! The shell holds no HTTP, SQL or hashing code; commands translate between the IPC types of
//! `docs/ipc.md` and engine calls.

mod adding;
pub mod commands;
pub mod dto;
pub mod error;
pub mod events;
pub mod grants;
pub mod integration;
mod locale;
pub mod logging;
pub mod progress;
pub mod sandbox;
pub mod sendto;
pub mod settings;
pub mod signin;
pub mod state;
mod tray;

use pandrop_engine::accounts::Accounts;
use pandrop_engine::secrets::KeyringStore;
use pandrop_engine::store::Profile;
use std::path::PathBuf;
use std::sync::Arc;
use tauri::{AppHandle, DragDropEvent, Manager, RunEvent, Runtime, WindowEvent};
use tauri_plugin_notification::NotificationExt;

use crate::error::{ErrorCode, IpcError, IpcResult};
use crate::progress::{BatchCounts, Hooks};
use crate::sendto::SendTo;
use crate::sendto::args::Launch;
use crate::state::{AppState, StateConfig};

/// Environment variable that moves the data dir (database, sandbox, log) elsewhere, e.g. for tests.
pub const DATA_DIR_ENV: &str = "PANDROP_DATA_DIR";
/// Where the TypeScript bindings go, relative to this package.
pub const BINDINGS_PATH: &str = "../ui/src/lib/bindings.ts";

/// The commands, with their types for the bindings. Also the list the invoke handler serves.
pub fn commands<R: Runtime>() -> tauri_specta::Commands<R> {
    tauri_specta::collect_commands![
        commands::app_info,
        commands::queue_subscribe,
        commands::pick_paths,
        commands::queue_add_paths,
        commands::offline_add_torrents,
        commands::queue_pause,
        commands::queue_resume,
        commands::queue_cancel,
        commands::queue_retry,
        commands::queue_remove,
        commands::queue_move,
        commands::queue_pause_all,
        commands::queue_resume_all,
        commands::queue_retry_failed,
        commands::queue_clear_finished,
        commands::profiles_list,
        commands::profile_save,
        commands::profile_remove,
        commands::profile_activate,
        commands::profile_test,
        commands::sandbox_start,
        commands::device_sign_in_start,
        commands::device_sign_in_finish,
        commands::device_sign_in_cancel,
        commands::settings_get,
        commands::settings_set,
        sendto::commands::sendto_ready,
        sendto::commands::sendto_confirm,
        sendto::commands::sendto_dismiss,
        sendto::commands::sendto_target,
        sendto::commands::sendto_forget,
        integration::commands::integration_status,
        integration::commands::integration_install,
        integration::commands::integration_uninstall,
    ]
}

/// Commands, events and types for the invoke handler and the TypeScript bindings.
pub fn specta_builder<R: Runtime>() -> tauri_specta::Builder<R> {
    tauri_specta::Builder::<R>::new()
        .commands(commands())
        .events(tauri_specta::collect_events![
            events::PathsReceived,
            events::QueuePausedAll,
            events::QueueResumedAll
        ])
        .typ::<error::ErrorCode>()
        // Byte counts and ids stay far below 2^53 (docs/ipc.md), so plain numbers are exact.
        .dangerously_cast_bigints_to_number()
        // Each DTO goes one way only, so one TypeScript type per DTO (no `_Serialize`/`_Deserialize` pairs).
        .disable_serde_phases()
}

/// Writes the TypeScript bindings to `path`.
pub fn export_bindings(path: &std::path::Path) -> Result<(), specta_typescript::Error> {
    let header = "// Generated from src-tauri by tauri-specta; do not edit. Regenerate: `PANDROP_UPDATE_BINDINGS=1 cargo test -p pandrop --test shell bindings`.\n";
    // `Result` names the shape every command resolves to, for the UI's one IPC module.
    let result = "export type Result<T, E> = { status: \"ok\"; data: T } | { status: \"error\"; error: E };";
    specta_builder::<tauri::Wry>().export(specta_typescript::Typescript::default().header(header).with_raw(result), path)
}

/// The profile a command means: the one named, else the active one.
pub(crate) fn target_profile(accounts: &Accounts, id: Option<&str>) -> IpcResult<Profile> {
    match id {
        Some(id) => accounts.get(id)?.map(|a| a.profile).ok_or_else(|| IpcError::no_such_profile(id)),
        None => accounts.active()?.ok_or_else(|| {
            IpcError::new(
                ErrorCode::NoProfile,
                "there is no account to upload with: add one or try the sandbox",
            )
        }),
    }
}

/// Shows, unminimizes and focuses the main window.
pub(crate) fn show_main_window<R: Runtime>(app: &AppHandle<R>) {
    if let Some(window) = app.get_webview_window("main") {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
    }
}

/// Stops the queue (its state stays in the store) and exits.
pub(crate) fn quit<R: Runtime>(app: &AppHandle<R>) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<AppState>().shutdown().await;
        app.exit(0);
    });
}

/// The data dir: `PANDROP_DATA_DIR`, else the platform's app data dir.
fn data_dir<R: Runtime>(app: &AppHandle<R>) -> tauri::Result<PathBuf> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => app.path().app_data_dir(),
    }
}

/// The hooks the app hangs on the queue channel: tray tooltip, batch notification, rotated tokens.
fn hooks<R: Runtime>(app: &AppHandle<R>) -> Hooks {
    let (tray_app, note_app, token_app) = (app.clone(), app.clone(), app.clone());
    Hooks {
        on_totals: Box::new(move |totals| tray::show_totals(&tray_app, totals)),
        on_batch: Box::new(move |counts| notify_batch(&note_app, counts)),
        on_task_finished: Box::new(move || {
            let accounts = token_app.state::<AppState>().accounts.clone();
            // Blocking keyring call, and a finished task must not wait for it.
            drop(tauri::async_runtime::spawn_blocking(move || {
                if let Err(e) = accounts.save_rotated_tokens() {
                    tracing::warn!(error = %e, "cannot save the rotated 6pan session token");
                }
            }));
        }),
    }
}

/// One notification per finished batch. No notification service (a bare X server) is not an error.
fn notify_batch<R: Runtime>(app: &AppHandle<R>, counts: BatchCounts) {
    let body = format!("{} uploaded, {} instant, {} failed", counts.uploaded, counts.instant, counts.failed);
    let app = app.clone();
    drop(tauri::async_runtime::spawn_blocking(move || {
        if let Err(e) = app.notification().builder().title("PanDrop").body(body).show() {
            tracing::info!(error = %e, "cannot show a notification");
        }
    }));
}

/// Builds the state, the tray, the events and the send-to desk of a running app.
fn setup<R: Runtime>(
    app: &mut tauri::App<R>,
    builder: &tauri_specta::Builder<R>,
    sandbox: bool,
    arrivals: sendto::Arrivals,
) -> Result<(), Box<dyn std::error::Error>> {
    builder.mount_events(app);
    let handle = app.handle().clone();
    let dir = data_dir(&handle)?;
    logging::init(&dir, "info");
    tracing::info!(version = env!("CARGO_PKG_VERSION"), data_dir = %dir.display(), "starting");
    let config = StateConfig {
        data_dir: dir,
        secrets: Arc::new(KeyringStore),
        hooks: hooks(&handle),
    };
    let state = tauri::async_runtime::block_on(AppState::open(config)).map_err(|e| e.message)?;
    if sandbox {
        // Before the page asks for its profiles, so the window opens on the sandbox.
        tauri::async_runtime::block_on(state.start_sandbox()).map_err(|e| e.message)?;
    }
    app.manage(state);
    app.manage(SendTo::start(&handle, arrivals));
    app.manage(file_picker(&handle));
    tray::build(&handle)?;
    Ok(())
}

/// The native file dialog over the main window, for `pick_paths`.
fn file_picker<R: Runtime>(app: &AppHandle<R>) -> grants::Picker {
    use tauri_plugin_dialog::DialogExt;
    let app = app.clone();
    grants::Picker::new(move |directory, title, answer| {
        let mut dialog = app.dialog().file().set_title(title);
        if let Some(window) = app.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        let reply = move |picked: Option<Vec<tauri_plugin_dialog::FilePath>>| {
            let paths = picked.map(|picked| picked.into_iter().filter_map(|p| p.into_path().ok()).collect());
            drop(answer.send(paths));
        };
        if directory {
            dialog.pick_folders(reply);
        } else {
            dialog.pick_files(reply);
        }
    })
}

/// Whether a D-Bus session bus can be reached: the single-instance hand-over needs one on Linux, and without
/// it each launch simply runs on its own.
fn session_bus_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let address = std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty());
    let runtime_bus = std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|dir| std::path::Path::new(&dir).join("bus").exists());
    address || runtime_bus
}

/// Starts the app, or hands the command line to the one already running, or runs `pandrop integrate`.
pub fn run() -> std::process::ExitCode {
    let cwd = std::env::current_dir().unwrap_or_default();
    let (sandbox, paths) = match Launch::parse(std::env::args_os(), &cwd) {
        Launch::App { sandbox, paths } => (sandbox, paths),
        Launch::Integrate(args) => return integration::run_cli(&args),
        Launch::Print { text, code: 0 } => {
            print!("{text}");
            return std::process::ExitCode::SUCCESS;
        }
        Launch::Print { text, code } => {
            eprint!("{text}");
            return std::process::ExitCode::from(code);
        }
    };
    let (inbox, arrivals) = sendto::inbox();
    // This launch's own paths wait in the inbox until the desk starts.
    inbox.push(paths);
    let builder = specta_builder::<tauri::Wry>();
    let handler = builder.invoke_handler();
    let mut app = tauri::Builder::default();
    if session_bus_available() {
        // First plugin: a second launch must hand over its paths and exit before anything else starts.
        let forward = inbox.clone();
        app = app.plugin(tauri_plugin_single_instance::init(move |app, argv, cwd| {
            if let Launch::App { paths, .. } = Launch::parse(argv, std::path::Path::new(&cwd)) {
                forward.push(paths);
            }
            show_main_window(app);
        }));
    } else {
        // Logging starts in setup, so this goes to stderr.
        eprintln!("PanDrop: no D-Bus session bus; a second launch will open a second window");
    }
    let app = app
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(handler)
        .setup(move |app| setup(app, &builder, sandbox, arrivals))
        .on_window_event(|window, event| match event {
            // What the user drops on the window is what the page may then name (see `grants`).
            WindowEvent::DragDrop(DragDropEvent::Drop { paths, .. }) => {
                if let Some(state) = window.app_handle().try_state::<AppState>() {
                    state.grants.allow(paths.iter().cloned());
                }
            }
            // Closing the window while uploads run hides it to the tray; when idle, closing quits.
            WindowEvent::CloseRequested { api, .. }
                if window.label() == "main" && window.app_handle().state::<AppState>().hub.is_busy() =>
            {
                api.prevent_close();
                let _ = window.hide();
            }
            _ => {}
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("PanDrop cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    app.run(move |app, event| match event {
        RunEvent::Exit => {
            // The queue persists in SQLite; running transfers stop where a restart can continue them.
            if let Some(desk) = app.try_state::<SendTo>() {
                tauri::async_runtime::block_on(desk.shutdown());
            }
            if let Some(state) = app.try_state::<AppState>() {
                tauri::async_runtime::block_on(state.shutdown());
            }
        }
        // Finder's Open With, drops on the Dock icon and the Quick Action (`open -a`) arrive here.
        #[cfg(target_os = "macos")]
        RunEvent::Opened { urls } => {
            inbox.push(urls.iter().filter_map(|url| url.to_file_path().ok()).collect());
            show_main_window(app);
        }
        _ => {}
    });
    std::process::ExitCode::SUCCESS
}
