//! Remote folders by path: `mkdir -p`, one level per call (spec §5.3), remembered once known.

use std::collections::HashSet;
use tokio::sync::Mutex;

use super::PROVIDER;
use super::api::{self, CreateRequest, File, FileRef};
use super::client::Api;
use crate::error::{Error, Result};

/// The folders known to exist.
#[derive(Default)]
pub(super) struct DirCache {
    known: Mutex<HashSet<String>>,
}

impl DirCache {
    /// Makes sure the folder `/a/b/c` of `components` exists, creating each missing level; returns its path.
    ///
    /// For each level not known yet: `get` it; when it is missing, `create` it; when `create` says it exists
    /// (another upload made it meanwhile), `get` it again. A file in the way is an error naming it.
    pub(super) async fn ensure(&self, api: &Api, components: &[&str]) -> Result<String> {
        // One walk at a time: two uploads into a new folder would otherwise both try to create it.
        let mut known = self.known.lock().await;
        let mut path = String::new();
        for component in components {
            path.push('/');
            path.push_str(component);
            if known.contains(&path) {
                continue;
            }
            let folder = match get(api, &path).await {
                Err(e) if api::is_not_found(&e) => match api.call::<_, File>("userfile/create", &CreateRequest::folder(&path), &path).await
                {
                    Err(Error::Conflict { .. }) => get(api, &path).await?,
                    other => other?,
                },
                other => other?,
            };
            if !folder.is_live_folder() {
                return Err(Error::Conflict {
                    provider: PROVIDER,
                    name: format!("{path} (a file, where a folder is needed)"),
                });
            }
            known.insert(path.clone());
        }
        Ok(if path.is_empty() { "/".to_owned() } else { path })
    }

    /// Forgets every folder (one was deleted under us).
    pub(super) async fn clear(&self) {
        self.known.lock().await.clear();
    }
}

/// `get {path}`.
pub(super) async fn get(api: &Api, path: &str) -> Result<File> {
    api.call("userfile/get", &FileRef::Path(path), path).await
}
