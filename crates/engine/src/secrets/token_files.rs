//! Access tokens in files readable only by their owner, for machines without a keyring.
//!
//! Only for what a cloud mints and can mint again (123pan's access token), and only when the user asks for it
//! (`pandrop-cli --token-cache file`), the way rclone keeps its tokens in its config file. Account secrets
//! (a clientSecret, a session token typed in) never go here.

use secrecy::{ExposeSecret, SecretString};
use std::io::Write;
use std::path::{Path, PathBuf};

use super::{SecretKey, SecretStore};
use crate::error::{Error, Result};

/// One file per key in a folder only the user may enter (mode 0700, files 0600 on Unix).
#[derive(Debug, Clone)]
pub struct TokenFiles {
    dir: PathBuf,
}

impl TokenFiles {
    /// Tokens in `dir` (created when first written).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A key's file: named by a digest of the key, so neither an endpoint nor a client id shows in the name.
    fn path(&self, key: &SecretKey) -> PathBuf {
        self.dir.join(format!("{}.token", super::digest(key.account())))
    }

    fn failed(&self, what: &str, e: std::io::Error) -> Error {
        Error::Keyring {
            message: format!("cannot {what} the token file in {}: {e}", self.dir.display()),
        }
    }

    fn create_dir(&self) -> std::io::Result<()> {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&self.dir)
    }
}

impl SecretStore for TokenFiles {
    fn get(&self, key: &SecretKey) -> Result<Option<SecretString>> {
        match std::fs::read_to_string(self.path(key)) {
            Ok(text) => Ok(Some(SecretString::from(text))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.failed("read", e)),
        }
    }

    /// Writes a new file beside the old one and renames it over, so a reader never sees half a token.
    fn set(&self, key: &SecretKey, value: &SecretString) -> Result<()> {
        self.create_dir().map_err(|e| self.failed("create the folder of", e))?;
        let path = self.path(key);
        let temp = path.with_extension(format!("token.{}", std::process::id()));
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temp).and_then(|mut file| {
            file.write_all(value.expose_secret().as_bytes())?;
            file.sync_all()
        });
        if let Err(e) = written.and_then(|()| std::fs::rename(&temp, &path)) {
            let _ = std::fs::remove_file(&temp);
            return Err(self.failed("write", e));
        }
        Ok(())
    }

    fn delete(&self, key: &SecretKey) -> Result<()> {
        match std::fs::remove_file(self.path(key)) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.failed("remove", e)),
        }
    }

    fn describe(&self) -> String {
        format!("token files readable only by you in {}", self.dir.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_private_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = TokenFiles::new(dir.path().join("tokens"));
        let key = SecretKey::new("123pan access token cid", "https://open-api.123pan.com/");
        assert!(files.get(&key).expect("get").is_none());
        files.set(&key, &SecretString::from("t-1".to_owned())).expect("set");
        files.set(&key, &SecretString::from("t-2".to_owned())).expect("replace");
        assert_eq!(files.get(&key).expect("get").expect("some").expose_secret(), "t-2");
        let names: Vec<String> = std::fs::read_dir(files.dir())
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names.len(), 1, "{names:?}");
        assert!(!names[0].contains("cid") && !names[0].contains("123pan.com"), "{names:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = |p: &Path| std::fs::metadata(p).expect("stat").permissions().mode() & 0o777;
            assert_eq!(mode(files.dir()), 0o700);
            assert_eq!(mode(&files.path(&key)), 0o600);
        }
        files.delete(&key).expect("delete");
        files.delete(&key).expect("delete again");
        assert!(files.get(&key).expect("get").is_none());
    }
}
