//! Errors as they cross IPC: a closed code the UI switches on, and a message in plain words.

/// Every kind of failure the UI tells apart (docs/ipc.md, "Errors"): the engine's closed set, which also holds
/// the two the shell reports about requests (`not_found`, `no_profile`).
pub use pandrop_engine::ErrorCode;

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
        Self::new(err.code(), err.to_string())
    }
}

/// The code of a task's recorded error (the engine's code, as the store keeps it by name).
pub fn task_error_code(name: &str) -> ErrorCode {
    // A name this build does not know can only come from a newer database.
    ErrorCode::named(name).unwrap_or(ErrorCode::Store)
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
        assert_eq!(task_error_code("rate_limited"), ErrorCode::RateLimited);
        assert_eq!(task_error_code("invalid_input"), ErrorCode::InvalidInput);
        assert_eq!(task_error_code("from_the_future"), ErrorCode::Store);
        let engine = pandrop_engine::store::TaskError::from(&pandrop_engine::Error::Cancelled);
        assert_eq!(task_error_code(&engine.code), ErrorCode::Cancelled);
    }
}
