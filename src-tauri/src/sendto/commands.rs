//! Send-to commands: the UI says it is ready, answers the confirm sheet, and manages the remembered target.

use std::sync::Arc;
use tauri::State;

use super::dto::{ReceivedBatch, SendToTarget};
use super::{SendTo, enqueue, target};
use crate::commands::blocking;
use crate::dto::AddReport;
use crate::error::IpcResult;
use crate::state::AppState;

/// The UI listens for `paths-received` from now on; answers the batches that arrived before.
#[tauri::command]
#[specta::specta]
pub async fn sendto_ready(desk: State<'_, SendTo>) -> IpcResult<Vec<ReceivedBatch>> {
    Ok(desk.ready())
}

/// Sends a waiting batch to a profile's folder (defaults: the active profile, its default folder); with
/// `remember`, later batches go there without asking.
#[tauri::command]
#[specta::specta]
pub async fn sendto_confirm(
    state: State<'_, AppState>,
    desk: State<'_, SendTo>,
    batch_id: u32,
    profile_id: Option<String>,
    remote_dir: Option<String>,
    remember: bool,
) -> IpcResult<AddReport> {
    let (accounts, store) = (state.accounts.clone(), Arc::clone(&state.store));
    let target = blocking(move || {
        let profile = crate::target_profile(&accounts, profile_id.as_deref())?;
        let target = SendToTarget {
            remote_dir: remote_dir.unwrap_or(profile.default_dir),
            profile_id: profile.id,
        };
        if remember {
            target::save(&store, &target)?;
        }
        Ok(target)
    })
    .await?;
    let walked = desk.take(batch_id)?;
    let sent = enqueue(&state, &walked, &target).await?;
    Ok(crate::adding::report(&walked, sent.added as usize))
}

/// Drops a waiting batch: nothing is uploaded.
#[tauri::command]
#[specta::specta]
pub async fn sendto_dismiss(desk: State<'_, SendTo>, batch_id: u32) -> IpcResult<()> {
    desk.take(batch_id).map(drop)
}

/// The target "always use this" remembered, if any.
#[tauri::command]
#[specta::specta]
pub async fn sendto_target(state: State<'_, AppState>) -> IpcResult<Option<SendToTarget>> {
    let store = Arc::clone(&state.store);
    blocking(move || target::load(&store)).await
}

/// Forgets the remembered target: the next batch asks again.
#[tauri::command]
#[specta::specta]
pub async fn sendto_forget(state: State<'_, AppState>) -> IpcResult<()> {
    let store = Arc::clone(&state.store);
    blocking(move || target::forget(&store)).await
}
