//! Every IPC command. Each one translates: DTO in, one engine call, DTO out (docs/ipc.md, "Commands").

use pandrop_engine::store::{MoveTo as EngineMove, TaskId};
use std::path::PathBuf;
use std::sync::Arc;
use tauri::State;
use tauri::ipc::Channel;

use crate::adding;
use crate::dto::{AddReport, AppInfo, ConnectionReport, MoveTo, ProfileDto, ProfileInput, ProviderDto, QueueEventDto, RejectedPath};
use crate::error::{IpcError, IpcResult};
use crate::grants::Picker;
use crate::settings::Settings;
use crate::signin::DeviceSignInDto;
use crate::state::AppState;

/// Runs a blocking engine call (SQLite, keyring) off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(f: impl FnOnce() -> IpcResult<T> + Send + 'static) -> IpcResult<T> {
    tokio::task::spawn_blocking(f).await?
}

/// The paths of `paths` the user handed over, and the refused ones (see [`crate::grants`]).
async fn admit(state: &AppState, paths: Vec<String>) -> IpcResult<(Vec<String>, Vec<RejectedPath>)> {
    let grants = Arc::clone(&state.grants);
    // Canonicalising touches the disk: not on the async workers.
    blocking(move || Ok(grants.admit(paths))).await
}

fn ids(ids: &[i64]) -> Vec<TaskId> {
    ids.iter().copied().map(TaskId).collect()
}

/// Facts about the running app.
#[tauri::command]
#[specta::specta]
pub async fn app_info(state: State<'_, AppState>) -> IpcResult<AppInfo> {
    Ok(AppInfo {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        data_dir: state.data_dir().display().to_string(),
        system_locale: crate::locale::system_locale(),
        keyring: state.keyring.clone(),
        sandbox_url: state.accounts.sandbox_url().map(|u| u.to_string()),
        providers: ProviderDto::all(),
    })
}

/// Subscribes to the queue: a snapshot arrives at once, then changes.
#[tauri::command]
#[specta::specta]
pub async fn queue_subscribe(state: State<'_, AppState>, on_event: Channel<QueueEventDto>) -> IpcResult<()> {
    state.hub.subscribe(on_event).await
}

/// The shell's own file dialog: what the user picks (files, or folders with `directory`) may then be queued.
/// `null` when the dialog was cancelled.
#[tauri::command]
#[specta::specta]
pub async fn pick_paths(
    state: State<'_, AppState>,
    picker: State<'_, Picker>,
    directory: bool,
    title: String,
) -> IpcResult<Option<Vec<String>>> {
    let Some(paths) = picker.pick(directory, title).await else {
        return Ok(None);
    };
    let shown = paths.iter().map(|p| p.display().to_string()).collect();
    let grants = Arc::clone(&state.grants);
    blocking(move || {
        grants.allow(paths);
        Ok(())
    })
    .await?;
    Ok(Some(shown))
}

/// Queues files and folders (folders expand to their files) for a profile (default: the active one). Only
/// paths the user dropped or picked are taken; others come back as rejected.
#[tauri::command]
#[specta::specta]
pub async fn queue_add_paths(
    state: State<'_, AppState>,
    paths: Vec<String>,
    profile_id: Option<String>,
    remote_dir: Option<String>,
) -> IpcResult<AddReport> {
    let (accounts, store) = (state.accounts.clone(), Arc::clone(&state.store));
    let (paths, refused) = admit(&state, paths).await?;
    let (profile, duplicate) = blocking(move || {
        let profile = crate::target_profile(&accounts, profile_id.as_deref())?;
        Ok((profile, Settings::load(&store)?.duplicate_policy()))
    })
    .await?;
    let dir = remote_dir.unwrap_or(profile.default_dir);
    let paths = paths.into_iter().map(PathBuf::from).collect();
    let (ids, walked) = state.engine().add_paths(paths, &profile.id, &dir, duplicate).await?;
    let mut report = adding::report(&walked, ids.len());
    report.rejected.extend(refused);
    Ok(report)
}

/// Queues `.torrent` files for the cloud's offline download into the profile's default folder (6pan): each
/// uploads, then starts its download, as one row of the queue.
#[tauri::command]
#[specta::specta]
pub async fn offline_add_torrents(state: State<'_, AppState>, paths: Vec<String>, profile_id: Option<String>) -> IpcResult<AddReport> {
    let accounts = state.accounts.clone();
    let profile = blocking(move || crate::target_profile(&accounts, profile_id.as_deref())).await?;
    let (paths, refused) = admit(&state, paths).await?;
    let mut report = AddReport {
        added: 0,
        rejected: refused,
    };
    if paths.is_empty() {
        return Ok(report);
    }
    let paths: Vec<PathBuf> = paths.into_iter().map(PathBuf::from).collect();
    let (ids, walked) = state.engine().add_torrents(paths, &profile.id, &profile.default_dir).await?;
    let added = adding::report(&walked, ids.len());
    report.added = added.added;
    report.rejected.extend(added.rejected);
    Ok(report)
}

/// Pauses tasks.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause(state: State<'_, AppState>, ids: Vec<i64>) -> IpcResult<()> {
    state.queue.pause(&self::ids(&ids));
    Ok(())
}

/// Resumes paused tasks.
#[tauri::command]
#[specta::specta]
pub async fn queue_resume(state: State<'_, AppState>, ids: Vec<i64>) -> IpcResult<()> {
    state.queue.resume(&self::ids(&ids));
    Ok(())
}

/// Cancels tasks.
#[tauri::command]
#[specta::specta]
pub async fn queue_cancel(state: State<'_, AppState>, ids: Vec<i64>) -> IpcResult<()> {
    state.queue.cancel(&self::ids(&ids));
    Ok(())
}

/// Puts failed or cancelled tasks back in the queue.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry(state: State<'_, AppState>, ids: Vec<i64>) -> IpcResult<()> {
    state.queue.retry(&self::ids(&ids));
    Ok(())
}

/// Removes tasks from the queue.
#[tauri::command]
#[specta::specta]
pub async fn queue_remove(state: State<'_, AppState>, ids: Vec<i64>) -> IpcResult<()> {
    state.queue.remove(&self::ids(&ids));
    Ok(())
}

/// Moves tasks to the top, the bottom, or before another task, keeping their order.
#[tauri::command]
#[specta::specta]
pub async fn queue_move(state: State<'_, AppState>, ids: Vec<i64>, to: MoveTo) -> IpcResult<()> {
    let ids = self::ids(&ids);
    match to {
        // Moving each to the top in reverse (or to the bottom in order) keeps the selection's order.
        MoveTo::Top => {
            for id in ids.into_iter().rev() {
                state.queue.move_task(id, EngineMove::Top).await?;
            }
        }
        MoveTo::Bottom => {
            for id in ids {
                state.queue.move_task(id, EngineMove::Bottom).await?;
            }
        }
        MoveTo::Before(before) => {
            let store = Arc::clone(&state.store);
            blocking(move || Ok(store.move_before(&ids, TaskId(before))?)).await?;
            state.hub.resync().await?;
        }
    }
    Ok(())
}

/// Pauses every unfinished task.
#[tauri::command]
#[specta::specta]
pub async fn queue_pause_all(state: State<'_, AppState>) -> IpcResult<()> {
    state.queue.pause_all();
    Ok(())
}

/// Resumes every paused task.
#[tauri::command]
#[specta::specta]
pub async fn queue_resume_all(state: State<'_, AppState>) -> IpcResult<()> {
    state.queue.resume_all();
    Ok(())
}

/// Puts every failed task back in the queue; returns how many.
#[tauri::command]
#[specta::specta]
pub async fn queue_retry_failed(state: State<'_, AppState>) -> IpcResult<u32> {
    let ids = state.queue.retry_all_failed().await?;
    state.hub.resync().await?;
    Ok(u32::try_from(ids.len()).unwrap_or(u32::MAX))
}

/// Removes finished tasks; returns how many.
#[tauri::command]
#[specta::specta]
pub async fn queue_clear_finished(state: State<'_, AppState>) -> IpcResult<u32> {
    let removed = state.queue.clear_finished().await?;
    Ok(u32::try_from(removed).unwrap_or(u32::MAX))
}

/// Every profile.
#[tauri::command]
#[specta::specta]
pub async fn profiles_list(state: State<'_, AppState>) -> IpcResult<Vec<ProfileDto>> {
    let accounts = state.accounts.clone();
    blocking(move || Ok(accounts.list()?.into_iter().map(ProfileDto::from).collect())).await
}

/// Adds or changes a profile; its secret goes to the keyring.
#[tauri::command]
#[specta::specta]
pub async fn profile_save(state: State<'_, AppState>, input: ProfileInput) -> IpcResult<ProfileDto> {
    let accounts = state.accounts.clone();
    blocking(move || {
        if let Some(id) = input.id.as_deref() {
            accounts.get(id)?.ok_or_else(|| IpcError::no_such_profile(id))?;
        }
        Ok(accounts.save(input.try_into()?)?.into())
    })
    .await
}

/// Removes a profile, its tasks and its secret.
#[tauri::command]
#[specta::specta]
pub async fn profile_remove(state: State<'_, AppState>, id: String) -> IpcResult<()> {
    let tasks: Vec<TaskId> = state
        .queue
        .tasks()
        .await?
        .into_iter()
        .filter(|t| t.profile_id == id)
        .map(|t| t.id)
        .collect();
    // Stop its running transfers first; the store then removes its rows with the profile.
    state.queue.remove(&tasks);
    let accounts = state.accounts.clone();
    blocking(move || {
        accounts.get(&id)?.ok_or_else(|| IpcError::no_such_profile(&id))?;
        Ok(accounts.remove(&id)?)
    })
    .await?;
    state.hub.resync().await
}

/// Makes a profile the active one.
#[tauri::command]
#[specta::specta]
pub async fn profile_activate(state: State<'_, AppState>, id: String) -> IpcResult<()> {
    let accounts = state.accounts.clone();
    blocking(move || {
        accounts.get(&id)?.ok_or_else(|| IpcError::no_such_profile(&id))?;
        Ok(accounts.activate(&id)?)
    })
    .await
}

/// Tries a profile against its cloud.
#[tauri::command]
#[specta::specta]
pub async fn profile_test(state: State<'_, AppState>, id: String) -> IpcResult<ConnectionReport> {
    let accounts = state.accounts.clone();
    let lookup = id.clone();
    blocking(move || accounts.get(&lookup)?.map(|_| ()).ok_or_else(|| IpcError::no_such_profile(&lookup))).await?;
    Ok(state.accounts.test(&id).await?.into())
}

/// Starts the built-in cloud and makes its demo profile the active one.
#[tauri::command]
#[specta::specta]
pub async fn sandbox_start(state: State<'_, AppState>) -> IpcResult<ProfileDto> {
    state.start_sandbox().await
}

/// Starts a sign-in by a code entered at the cloud's website, for an account of `provider` at `endpoint`
/// (`null`: the real cloud): the code to show and where to enter it. The device code stays in the shell.
#[tauri::command]
#[specta::specta]
pub async fn device_sign_in_start(state: State<'_, AppState>, provider: String, endpoint: Option<String>) -> IpcResult<DeviceSignInDto> {
    state.sign_ins.start(&state.accounts, &provider, endpoint).await
}

/// Waits until the user has entered the code of sign-in `id`, then saves `input` with the sign-in as its
/// secret (`input.secret` is ignored; the endpoint is the start's). Answers once saved, or with `cancelled`,
/// `timeout` (the code expired) or the cloud's refusal.
#[tauri::command]
#[specta::specta]
pub async fn device_sign_in_finish(state: State<'_, AppState>, id: u32, input: ProfileInput) -> IpcResult<ProfileDto> {
    Ok(state.sign_ins.finish(&state.accounts, id, input).await?.into())
}

/// Stops sign-in `id`; a waiting `device_sign_in_finish` answers `cancelled`.
#[tauri::command]
#[specta::specta]
pub async fn device_sign_in_cancel(state: State<'_, AppState>, id: u32) -> IpcResult<()> {
    state.sign_ins.cancel(id)
}

/// The user's settings.
#[tauri::command]
#[specta::specta]
pub async fn settings_get(state: State<'_, AppState>) -> IpcResult<Settings> {
    let store = Arc::clone(&state.store);
    blocking(move || Settings::load(&store)).await
}

/// Checks, stores and applies settings to the running queue.
#[tauri::command]
#[specta::specta]
pub async fn settings_set(state: State<'_, AppState>, settings: Settings) -> IpcResult<Settings> {
    let store = Arc::clone(&state.store);
    blocking(move || settings.save(&store)).await?;
    state.queue.set_limits(settings.limits());
    Ok(settings)
}
