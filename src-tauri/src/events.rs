//! Rare broadcasts to the UI (docs/ipc.md, "Events"); progress goes through the queue channel instead.

/// A second launch (send-to) handed files to this instance.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct PathsReceived {
    /// The files and folders.
    pub paths: Vec<String>,
}

/// The tray menu paused everything.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueuePausedAll;

/// The tray menu resumed everything.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, specta::Type, tauri_specta::Event)]
pub struct QueueResumedAll;
