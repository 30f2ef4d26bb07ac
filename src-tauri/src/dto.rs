//! Wire types of the IPC contract (docs/ipc.md, "Types"): camelCase JSON, TypeScript generated from here.
//!
//! Byte counts and ids are `number`s in TypeScript; they stay far below 2^53.

use pandrop_engine::accounts::{Account, ConnectionReport as EngineReport, ProfileInput as EngineInput};
use pandrop_engine::provider::registry;
use pandrop_engine::queue::TaskProgress;
use pandrop_engine::secret::secret;
use pandrop_engine::store::{Task, TaskAction, TaskState, allowed_actions};
use pandrop_engine::transfer::Phase;
use std::collections::BTreeMap;

use crate::error::ErrorCode;

/// A cloud as the account form draws it, from the engine's provider registry: adding a cloud changes no IPC
/// type.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct ProviderDto {
    /// The stable name profiles carry (`123pan`, `6pan-v1`, `6pan-v2`, `halalcloud`).
    pub kind: String,
    /// The real cloud's API base, shown as the default endpoint.
    pub default_endpoint: String,
    /// What an account needs, in the order the form asks for it.
    pub fields: Vec<CredentialFieldDto>,
    /// The account can also be made by a sign-in with a code entered at the cloud's website
    /// (`device_sign_in_start`), instead of typing its secret.
    pub signs_in_by_device: bool,
}

/// One credential field of a cloud.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct CredentialFieldDto {
    /// Stable key (`client_id`, `client_secret`, `session_token`); the UI's strings name it.
    pub key: String,
    /// A secret goes to the keyring and is never shown again; there is one per cloud.
    pub secret: bool,
}

impl ProviderDto {
    /// Every registered cloud.
    pub fn all() -> Vec<Self> {
        registry::FACTORIES
            .iter()
            .map(|f| {
                let info = f.info();
                Self {
                    kind: info.kind.as_str().to_owned(),
                    default_endpoint: info.default_endpoint.to_owned(),
                    fields: info
                        .fields
                        .iter()
                        .map(|field| CredentialFieldDto {
                            key: field.key.to_owned(),
                            secret: field.secret,
                        })
                        .collect(),
                    signs_in_by_device: f.signs_in_by_device(),
                }
            })
            .collect()
    }
}

/// Why a task failed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct TaskError {
    /// What kind of failure it was (the UI words it in the user's language).
    pub code: ErrorCode,
    /// Plain words.
    pub message: String,
}

/// One row of the queue.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)] // docs/ipc.md describes every field.
pub struct TaskDto {
    pub id: i64,
    pub name: String,
    pub local_path: String,
    pub size: u64,
    pub profile_id: String,
    pub remote_dir: String,
    pub state: TaskState,
    pub bytes_done: u64,
    pub error: Option<TaskError>,
    pub remote_id: Option<String>,
    pub position: i64,
    pub attempts: u32,
    pub allowed_actions: Vec<TaskAction>,
    pub bytes_held: u64,
}

impl From<Task> for TaskDto {
    fn from(t: Task) -> Self {
        Self {
            allowed_actions: allowed_actions(t.state),
            id: t.id.0,
            name: t.target.name,
            local_path: t.local_path.display().to_string(),
            size: t.size,
            profile_id: t.profile_id,
            remote_dir: t.target.dir,
            state: t.state,
            bytes_done: t.bytes_done,
            error: t.error.map(|e| TaskError {
                code: crate::error::task_error_code(&e.code),
                message: e.message,
            }),
            remote_id: t.remote_id,
            position: t.position,
            attempts: t.attempts,
            bytes_held: t.bytes_held.unwrap_or(0),
        }
    }
}

/// Absolute progress of one running task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct TaskProgressDto {
    pub id: i64,
    pub phase: Phase,
    pub done: u64,
    pub total: u64,
    // Never NaN or infinite (the engine computes them from positive durations), so never `null` in JSON.
    #[specta(type = specta_typescript::Number)]
    pub bytes_per_sec: f64,
    #[specta(type = Option<specta_typescript::Number>)]
    pub eta_secs: Option<f64>,
}

impl From<&TaskProgress> for TaskProgressDto {
    fn from(p: &TaskProgress) -> Self {
        Self {
            id: p.id.0,
            phase: p.phase,
            done: p.done,
            total: p.total,
            bytes_per_sec: p.bytes_per_sec,
            eta_secs: p.eta_secs,
        }
    }
}

/// A message on the queue channel.
#[derive(Debug, Clone, PartialEq, serde::Serialize, specta::Type)]
#[serde(tag = "kind", rename_all = "snake_case", rename_all_fields = "camelCase")]
pub enum QueueEventDto {
    /// Every task: the first message, and after any add, remove or reorder.
    Snapshot {
        /// In queue order.
        tasks: Vec<TaskDto>,
    },
    /// One task changed state.
    State {
        /// The full row.
        // Boxed, so the frequent progress messages stay small.
        task: Box<TaskDto>,
    },
    /// About ten times a second while tasks run: absolute values, running tasks only.
    Progress {
        /// One entry per running task.
        tasks: Vec<TaskProgressDto>,
    },
    /// The queue went idle after work.
    BatchFinished {
        /// Files sent.
        uploaded: u32,
        /// Files the cloud already had (秒传).
        instant: u32,
        /// Files that failed.
        failed: u32,
        /// Bytes not sent thanks to instant uploads.
        bytes_saved: u64,
    },
}

/// A file or folder that could not be queued.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
pub struct RejectedPath {
    /// As given (or the file inside a folder).
    pub path: String,
    /// Why, in plain words.
    pub message: String,
}

/// What `queue_add_paths` did.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, specta::Type)]
pub struct AddReport {
    /// Tasks added.
    pub added: u32,
    /// Paths that were not.
    pub rejected: Vec<RejectedPath>,
}

/// Where `queue_move` puts tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum MoveTo {
    /// First in the queue.
    Top,
    /// Last in the queue.
    Bottom,
    /// Right before the task with this id.
    Before(i64),
}

/// A profile as the UI shows it; the secret never crosses IPC.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ProfileDto {
    pub id: String,
    /// A [`ProviderDto::kind`].
    pub provider: String,
    pub name: String,
    pub endpoint: String,
    pub default_dir: String,
    /// The credential fields that are not secret, by key.
    pub fields: BTreeMap<String, String>,
    pub has_secret: bool,
    pub sandbox: bool,
    pub active: bool,
    /// Authorised by a code entered at the cloud's website: the secret is that sign-in, and the account has
    /// no key fields to show or ask for.
    pub signed_in_by_code: bool,
}

impl From<Account> for ProfileDto {
    fn from(a: Account) -> Self {
        Self {
            id: a.profile.id,
            provider: a.profile.provider.as_str().to_owned(),
            name: a.profile.name,
            endpoint: a.profile.endpoint,
            default_dir: a.profile.default_dir,
            fields: a.fields,
            has_secret: a.has_secret,
            sandbox: a.sandbox,
            active: a.active,
            signed_in_by_code: a.signed_in_by_code,
        }
    }
}

/// A new profile or changes to one. No `Debug`: it may carry a secret.
#[derive(Clone, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct ProfileInput {
    pub id: Option<String>,
    /// A [`ProviderDto::kind`].
    pub provider: String,
    pub name: String,
    pub endpoint: Option<String>,
    pub default_dir: String,
    /// The credential fields that are not secret, by key.
    pub fields: BTreeMap<String, String>,
    /// `null` on edit keeps the stored one.
    pub secret: Option<String>,
}

impl TryFrom<ProfileInput> for EngineInput {
    type Error = pandrop_engine::Error;

    /// Fails with the engine's `InvalidInput` for a cloud the registry does not know.
    fn try_from(i: ProfileInput) -> pandrop_engine::Result<Self> {
        Ok(Self {
            id: i.id,
            provider: i.provider.parse()?,
            name: i.name,
            endpoint: i.endpoint,
            default_dir: i.default_dir,
            fields: i.fields,
            // An empty field means "not entered", the same as null.
            secret: i.secret.filter(|s| !s.is_empty()).map(secret),
        })
    }
}

/// What "Test connection" found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct ConnectionReport {
    /// Whether the cloud accepted the account.
    pub ok: bool,
    /// What it said.
    pub message: String,
}

impl From<EngineReport> for ConnectionReport {
    fn from(r: EngineReport) -> Self {
        Self {
            ok: r.ok,
            message: r.message,
        }
    }
}

/// Whether the system keyring can be used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
pub struct KeyringStatus {
    /// It answered.
    pub available: bool,
    /// Why not, in plain words.
    pub message: Option<String>,
}

/// Facts about the running app.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
#[allow(missing_docs)]
pub struct AppInfo {
    pub version: String,
    pub data_dir: String,
    pub system_locale: String,
    pub keyring: KeyringStatus,
    /// Set while the built-in sandbox cloud runs.
    pub sandbox_url: Option<String>,
    /// The clouds accounts can be made for.
    pub providers: Vec<ProviderDto>,
}
