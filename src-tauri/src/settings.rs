//! The user's settings: kept in the engine store, validated here, applied to the running queue.

use pandrop_engine::provider::DuplicatePolicy;
use pandrop_engine::queue::Limits;
use pandrop_engine::store::Store;

use crate::error::{ErrorCode, IpcError, IpcResult};

/// The application setting the choices are stored under.
const KEY: &str = "settings";
/// Upper bound for files and slices in flight: more only adds memory and server load.
const MAX_PARALLEL: u32 = 16;

/// What to do when the target already holds a file of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum DuplicateChoice {
    Fail,
    KeepBoth,
    Overwrite,
}

/// The UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[allow(missing_docs)]
pub enum Language {
    #[serde(rename = "system")]
    System,
    #[serde(rename = "zh-CN")]
    ZhCn,
    #[serde(rename = "en")]
    En,
}

/// The UI theme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Theme {
    System,
    Light,
    Dark,
}

/// Everything on the settings screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Files uploading at once.
    pub files_in_parallel: u32,
    /// Slices (123pan) or blocks (6pan) of one file in flight at once.
    pub slices_per_file: u32,
    /// Bytes per second for all uploads together; `None`: unlimited.
    pub speed_limit: Option<u64>,
    /// When a name exists.
    pub duplicate: DuplicateChoice,
    /// UI language.
    pub language: Language,
    /// UI theme.
    pub theme: Theme,
}

impl Default for Settings {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            files_in_parallel: u32::try_from(limits.files).unwrap_or(2),
            slices_per_file: u32::try_from(limits.parts_per_file).unwrap_or(3),
            speed_limit: None,
            duplicate: DuplicateChoice::KeepBoth,
            language: Language::System,
            theme: Theme::System,
        }
    }
}

impl Settings {
    /// The stored settings, or the defaults (also when the stored ones no longer parse).
    pub fn load(store: &Store) -> IpcResult<Self> {
        Ok(Self::read(store)?)
    }

    /// [`Settings::load`] with the engine's error, for the engine's start.
    pub(crate) fn read(store: &Store) -> pandrop_engine::Result<Self> {
        Ok(store
            .app_setting(KEY)?
            .and_then(|v| serde_json::from_value(v).ok())
            .unwrap_or_default())
    }

    /// Checks and stores the settings.
    pub fn save(&self, store: &Store) -> IpcResult<()> {
        self.validate()?;
        let value = serde_json::to_value(self).map_err(|e| IpcError::new(ErrorCode::Store, e.to_string()))?;
        Ok(store.set_app_setting(KEY, &value)?)
    }

    fn validate(&self) -> IpcResult<()> {
        let range = |n: u32, what: &str| {
            if (1..=MAX_PARALLEL).contains(&n) {
                Ok(())
            } else {
                Err(IpcError::new(
                    ErrorCode::InvalidInput,
                    format!("{what} must be between 1 and {MAX_PARALLEL}"),
                ))
            }
        };
        range(self.files_in_parallel, "files in parallel")?;
        range(self.slices_per_file, "slices per file")?;
        if self.speed_limit == Some(0) {
            return Err(IpcError::new(ErrorCode::InvalidInput, "a speed limit must be above 0 (or none)"));
        }
        Ok(())
    }

    /// The queue limits these settings ask for.
    pub fn limits(&self) -> Limits {
        Limits {
            files: self.files_in_parallel as usize,
            parts_per_file: self.slices_per_file as usize,
            upload_bytes_per_sec: self.speed_limit,
            ..Limits::default()
        }
    }

    /// The engine's duplicate policy for new tasks.
    pub fn duplicate_policy(&self) -> DuplicatePolicy {
        match self.duplicate {
            DuplicateChoice::Fail => DuplicatePolicy::Fail,
            DuplicateChoice::KeepBoth => DuplicatePolicy::KeepBoth,
            DuplicateChoice::Overwrite => DuplicatePolicy::Overwrite,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_are_checked() {
        let store = Store::open_in_memory().unwrap();
        assert_eq!(Settings::load(&store).unwrap(), Settings::default());
        let mut s = Settings {
            speed_limit: Some(1_000_000),
            language: Language::ZhCn,
            ..Settings::default()
        };
        s.save(&store).unwrap();
        assert_eq!(Settings::load(&store).unwrap(), s);
        assert_eq!(s.limits().upload_bytes_per_sec, Some(1_000_000));
        s.files_in_parallel = 0;
        assert_eq!(s.save(&store).unwrap_err().code, ErrorCode::InvalidInput);
        let json = serde_json::to_value(Settings::default()).unwrap();
        assert_eq!(json["language"], "system");
        assert_eq!(json["duplicate"], "keep_both");
    }
}
