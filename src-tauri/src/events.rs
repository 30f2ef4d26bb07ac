//! Rare broadcasts to the UI (docs/ipc.md, "Events"); progress goes through the queue channel instead.

/// The file manager or a second launch (send-to) handed files to this instance: they were queued for the
/// remembered target (`batch.sent`), or they wait for the confirm sheet.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct PathsReceived {
    /// The batch.
    pub batch: crate::sendto::dto::ReceivedBatch,
}

/// The tray menu paused everything.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueuePausedAll;

/// The tray menu resumed everything.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueueResumedAll;
