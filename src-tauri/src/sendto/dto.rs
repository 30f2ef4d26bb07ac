//! Wire types of send-to (docs/ipc.md, "Send to PanDrop").

use crate::dto::RejectedPath;

/// Paths the file manager or a second launch handed over, walked into files.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ReceivedBatch {
    /// Names the batch in `sendto_confirm` / `sendto_dismiss`.
    pub id: u32,
    /// The files and folders as sent: absolute, canonical, without repeats.
    pub paths: Vec<String>,
    /// Files found (folders walked).
    pub files: u32,
    /// Their bytes.
    pub bytes: u64,
    /// What cannot be uploaded, and why; the rest goes on.
    pub rejected: Vec<RejectedPath>,
    /// Set when the batch went straight to the remembered target; `null`: the UI asks where it goes.
    pub sent: Option<SentTo>,
}

/// Where a batch went, and what the queue took.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SentTo {
    /// The profile.
    pub profile_id: String,
    /// The remote folder.
    pub remote_dir: String,
    /// Tasks added.
    pub added: u32,
}

/// The target remembered by "always use this".
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct SendToTarget {
    /// The profile.
    pub profile_id: String,
    /// The remote folder.
    pub remote_dir: String,
}
