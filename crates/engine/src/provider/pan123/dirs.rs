//! Remote folder paths resolved to ids by walking the listing and creating what is missing (spec §5.1–§5.2).

use std::collections::HashMap;
use tokio::sync::Mutex;

use super::api::ListEntry;
use super::client::Api;
use crate::error::{Error, Result};

/// The root folder's id.
const ROOT: u64 = 0;

/// Folder ids by path, shared by every upload of one account.
///
/// Resolution holds the lock while it talks to the cloud, so two files bound for the same new folder do not
/// both create it.
#[derive(Default)]
pub(super) struct DirCache {
    ids: Mutex<HashMap<String, u64>>,
}

impl DirCache {
    /// The id of the folder `components` (from the root), creating missing folders.
    pub(super) async fn resolve(&self, api: &Api, components: &[&str]) -> Result<u64> {
        let mut ids = self.ids.lock().await;
        let mut parent = ROOT;
        let mut path = String::new();
        for name in components {
            path.push('/');
            path.push_str(name);
            if let Some(id) = ids.get(&path) {
                parent = *id;
                continue;
            }
            let id = match find_folder(api, parent, name).await? {
                Some(id) => id,
                None => match api.mkdir(name, parent).await {
                    Ok(id) => id,
                    // Someone else created it between our listing and our mkdir.
                    Err(e) if is_folder_clash(&e) => find_folder(api, parent, name).await?.ok_or(e)?,
                    Err(e) => return Err(e),
                },
            };
            ids.insert(path.clone(), id);
            parent = id;
        }
        Ok(parent)
    }

    /// Forgets every cached id (after the cloud said a parent no longer exists).
    pub(super) async fn clear(&self) {
        self.ids.lock().await.clear();
    }
}

/// Looks for a live folder called `name` directly under `parent`.
async fn find_folder(api: &Api, parent: u64, name: &str) -> Result<Option<u64>> {
    Ok(find(api, parent, |e| e.is_live_folder() && e.filename == name)
        .await?
        .map(|e| e.file_id))
}

/// The id of a live file called `name` under `parent` whose size and MD5 are the ones given, if any.
pub(super) async fn find_identical_file(api: &Api, parent: u64, name: &str, size: u64, md5: &str) -> Result<Option<u64>> {
    let found = find(api, parent, |e| e.is_live_file() && e.filename == name).await?;
    Ok(found
        .filter(|e| e.size == size && e.etag.eq_ignore_ascii_case(md5))
        .map(|e| e.file_id))
}

/// The first entry under `parent` that `wanted` accepts, paging through the listing.
async fn find(api: &Api, parent: u64, wanted: impl Fn(&ListEntry) -> bool) -> Result<Option<ListEntry>> {
    let mut cursor = None;
    loop {
        let mut page = api.list(parent, cursor).await?;
        if let Some(at) = page.file_list.iter().position(&wanted) {
            return Ok(Some(page.file_list.swap_remove(at)));
        }
        if page.last_file_id == -1 || page.file_list.is_empty() {
            return Ok(None);
        }
        // A cursor that does not move would page forever.
        if cursor == Some(page.last_file_id) {
            return Err(Error::Protocol {
                provider: super::PROVIDER,
                detail: "the folder listing repeats its paging cursor".into(),
            });
        }
        cursor = Some(page.last_file_id);
    }
}

/// mkdir's answer when the folder already exists (spec §5.1).
fn is_folder_clash(err: &Error) -> bool {
    matches!(err, Error::Api { message, .. } if message.contains("同名文件夹"))
}
