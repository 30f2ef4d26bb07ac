//! Errors as they cross IPC: a closed code the UI switches on, and a message in plain words.

use pandrop_engine::ErrorCode as EngineCode;

/// Every kind of failure the UI tells apart (docs/ipc.md, "Errors").
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A path, name or option breaks a rule; nothing was sent.
    InvalidInput,
    /// A local file could not be read.
    Io,
    /// The cloud refused the credentials.
    Auth,
    /// The cloud asked us to slow down.
    RateLimited,
    /// The cloud could not be reached.
    Network,
    /// The cloud failed (HTTP 5xx).
    Server,
    /// The cloud answered an error of its own.
    Api,
    /// The name already exists at the target.
    Conflict,
    /// The cloud broke its own protocol.
    Protocol,
    /// The bytes on the cloud do not match the file.
    Integrity,
    /// A bounded wait ran out.
    Timeout,
    /// The system keyring is not reachable; the UI explains it and offers no fallback.
    Keyring,
    /// The local database failed.
    Store,
    /// The operation was cancelled.
    Cancelled,
    /// No such task or profile.
    NotFound,
    /// Nothing to upload with: add an account or start the sandbox.
    NoProfile,
}

/// What a failed command returns: `{ code, message }`. The message never holds a secret (engine messages
/// never do, and the shell adds none).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type, thiserror::Error)]
#[error("{message}")]
pub struct IpcError {
    /// The closed code.
    pub code: ErrorCode,
    /// Plain words for the user.
    pub message: String,
}

impl IpcError {
    /// An error with this code and message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// "No such profile" for `id`.
    pub fn no_such_profile(id: &str) -> Self {
        Self::new(ErrorCode::NotFound, format!("there is no profile {id}"))
    }
}

impl From<pandrop_engine::Error> for IpcError {
    fn from(err: pandrop_engine::Error) -> Self {
        Self::new(err.code().into(), err.to_string())
    }
}

impl From<EngineCode> for ErrorCode {
    fn from(code: EngineCode) -> Self {
        match code {
            EngineCode::InvalidInput => ErrorCode::InvalidInput,
            EngineCode::Io => ErrorCode::Io,
            EngineCode::Auth => ErrorCode::Auth,
            EngineCode::RateLimited => ErrorCode::RateLimited,
            EngineCode::Network => ErrorCode::Network,
            EngineCode::Server => ErrorCode::Server,
            EngineCode::Api => ErrorCode::Api,
            EngineCode::Conflict => ErrorCode::Conflict,
            EngineCode::Protocol => ErrorCode::Protocol,
            EngineCode::Integrity => ErrorCode::Integrity,
            EngineCode::Timeout => ErrorCode::Timeout,
            EngineCode::Keyring => ErrorCode::Keyring,
            EngineCode::Store => ErrorCode::Store,
            EngineCode::Cancelled => ErrorCode::Cancelled,
        }
    }
}

impl ErrorCode {
    /// The code of a task's recorded error (the engine's code, as the store keeps it by name).
    pub fn of_task(name: &str) -> Self {
        serde_json::from_value::<EngineCode>(serde_json::Value::from(name))
            // A name this build does not know can only come from a newer database.
            .map_or(ErrorCode::Store, Self::from)
    }
}

impl From<tokio::task::JoinError> for IpcError {
    fn from(err: tokio::task::JoinError) -> Self {
        Self::new(ErrorCode::Store, format!("a background step failed: {err}"))
    }
}

/// The result of every command.
pub type IpcResult<T> = Result<T, IpcError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_task_error_code_is_typed_from_the_engine_name() {
        assert_eq!(ErrorCode::of_task("rate_limited"), ErrorCode::RateLimited);
        assert_eq!(ErrorCode::of_task("invalid_input"), ErrorCode::InvalidInput);
        assert_eq!(ErrorCode::of_task("from_the_future"), ErrorCode::Store);
        let engine = pandrop_engine::store::TaskError::from(&pandrop_engine::Error::Cancelled);
        assert_eq!(ErrorCode::of_task(&engine.code), ErrorCode::Cancelled);
    }
}
