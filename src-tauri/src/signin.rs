//! Sign-ins by a code entered at the cloud's website (HalalCloud's OAuth device flow), for the account form.
//!
//! `device_sign_in_start` asks the cloud for a code and keeps the engine's [`DeviceSignIn`] (which holds the
//! device code: whoever has it gets the account's tokens) here under a fresh id; the page only ever sees the
//! user code and the address. `device_sign_in_finish` waits for the user in a task this desk owns, and
//! `device_sign_in_cancel` (or the app's shutdown) stops it. A finished or cancelled id is gone.

use pandrop_engine::Error as EngineError;
use pandrop_engine::accounts::{Account, Accounts, ProfileInput};
use pandrop_engine::provider::registry::DeviceSignIn;
use pandrop_engine::store::ProviderKind;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::oneshot;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::error::{ErrorCode, IpcError, IpcResult};

/// What `device_sign_in_start` hands the page: the code to show and where to enter it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, specta::Type)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSignInDto {
    /// Names this sign-in in `device_sign_in_finish` and `device_sign_in_cancel`.
    pub id: u32,
    /// What the user enters at the website.
    pub user_code: String,
    /// The website's page where the user enters it.
    pub verification_uri: String,
    /// How long the code is good for, from now.
    pub expires_in_secs: u64,
}

/// A started sign-in, until it finishes or is cancelled.
struct Pending {
    sign_in: Arc<DeviceSignIn>,
    provider: ProviderKind,
    /// As given to the start: the account is saved with it.
    endpoint: Option<String>,
    expires_at: Instant,
    /// Stops its wait; a child of the desk's token.
    cancel: CancellationToken,
    /// A finish is waiting on it.
    waiting: bool,
}

/// The started sign-ins and the tasks that wait for them.
pub struct SignIns {
    next: Mutex<u32>,
    pending: Mutex<HashMap<u32, Pending>>,
    /// The waits; owned here, so shutdown can stop and await them.
    tasks: Mutex<JoinSet<()>>,
    cancel: CancellationToken,
}

impl Default for SignIns {
    fn default() -> Self {
        Self {
            next: Mutex::new(1),
            pending: Mutex::default(),
            tasks: Mutex::default(),
            cancel: CancellationToken::new(),
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

fn no_such_sign_in(id: u32) -> IpcError {
    IpcError::new(
        ErrorCode::NotFound,
        format!("there is no sign-in {id}: it finished, was cancelled or never started"),
    )
}

/// Removes a sign-in when its finish ends, however it ends (the command's future may also be dropped, and
/// then nobody waits for the answer: the wait stops too).
struct Finishing<'a> {
    desk: &'a SignIns,
    id: u32,
    cancel: CancellationToken,
}

impl Drop for Finishing<'_> {
    fn drop(&mut self) {
        self.cancel.cancel();
        lock(&self.desk.pending).remove(&self.id);
    }
}

impl SignIns {
    /// Starts a sign-in by code for an account of `provider` at `endpoint` (`None`: the real cloud).
    pub async fn start(&self, accounts: &Accounts, provider: &str, endpoint: Option<String>) -> IpcResult<DeviceSignInDto> {
        let provider: ProviderKind = provider.parse()?;
        let endpoint = endpoint.filter(|e| !e.trim().is_empty());
        let sign_in = accounts.start_device_sign_in(provider, endpoint.as_deref()).await?;
        let expires_at = Instant::now() + sign_in.expires_in;
        let dto = DeviceSignInDto {
            id: 0,
            user_code: sign_in.user_code.clone(),
            verification_uri: sign_in.verification_uri.clone(),
            expires_in_secs: sign_in.expires_in.as_secs(),
        };
        let id = {
            let mut next = lock(&self.next);
            let id = *next;
            *next = next.wrapping_add(1).max(1);
            id
        };
        let mut pending = lock(&self.pending);
        // Codes nobody finished or cancelled go once they expire.
        let now = Instant::now();
        pending.retain(|_, p| p.waiting || p.expires_at > now);
        pending.insert(
            id,
            Pending {
                sign_in: Arc::new(sign_in),
                provider,
                endpoint,
                expires_at,
                cancel: self.cancel.child_token(),
                waiting: false,
            },
        );
        Ok(DeviceSignInDto { id, ..dto })
    }

    /// Waits until the user has entered the code of sign-in `id`, then saves `input` (provider as started; its
    /// endpoint is the start's, its secret is what the sign-in returned). A mistake in `input` found before
    /// the wait leaves the sign-in to finish again; once the wait has begun, the sign-in is used up however it
    /// ends.
    pub async fn finish(&self, accounts: &Accounts, id: u32, input: crate::dto::ProfileInput) -> IpcResult<Account> {
        let mut input: ProfileInput = input.try_into()?;
        self.check(id, &input)?;
        if let Some(profile) = input.id.clone() {
            let lookup = accounts.clone();
            let exists = crate::commands::blocking(move || Ok(lookup.get(&profile)?.is_some())).await?;
            if !exists {
                return Err(IpcError::no_such_profile(input.id.as_deref().unwrap_or_default()));
            }
        }
        let (sign_in, cancel) = {
            let mut pending = lock(&self.pending);
            let entry = pending.get_mut(&id).ok_or_else(|| no_such_sign_in(id))?;
            if entry.waiting {
                return Err(IpcError::new(ErrorCode::Conflict, format!("sign-in {id} is already waiting")));
            }
            entry.waiting = true;
            input.endpoint.clone_from(&entry.endpoint);
            input.secret = None;
            (Arc::clone(&entry.sign_in), entry.cancel.clone())
        };
        let _finishing = Finishing {
            desk: self,
            id,
            cancel: cancel.clone(),
        };
        let (answer, answered) = oneshot::channel();
        let accounts = accounts.clone();
        {
            let mut tasks = lock(&self.tasks);
            // Reap the waits that ended before.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(async move {
                let saved = tokio::select! {
                    biased;
                    () = cancel.cancelled() => Err(EngineError::Cancelled),
                    saved = accounts.finish_device_sign_in(input, &sign_in) => saved,
                };
                drop(answer.send(saved));
            });
        }
        // The sender goes away unanswered only when shutdown aborts the wait.
        let saved = answered
            .await
            .map_err(|_| IpcError::new(ErrorCode::Cancelled, "the sign-in was stopped"))?;
        Ok(saved?)
    }

    /// Whether `input` may finish sign-in `id`: it is there, not expired, and for the same cloud.
    fn check(&self, id: u32, input: &ProfileInput) -> IpcResult<()> {
        let mut pending = lock(&self.pending);
        let entry = pending.get(&id).ok_or_else(|| no_such_sign_in(id))?;
        if entry.expires_at <= Instant::now() {
            pending.remove(&id);
            return Err(IpcError::new(ErrorCode::Timeout, "the code expired: start the sign-in again"));
        }
        if input.provider != entry.provider {
            return Err(IpcError::new(
                ErrorCode::InvalidInput,
                format!("sign-in {id} is for {}, not {}", entry.provider.as_str(), input.provider.as_str()),
            ));
        }
        Ok(())
    }

    /// Stops sign-in `id`: a waiting finish answers `cancelled`.
    pub fn cancel(&self, id: u32) -> IpcResult<()> {
        let entry = lock(&self.pending).remove(&id).ok_or_else(|| no_such_sign_in(id))?;
        entry.cancel.cancel();
        Ok(())
    }

    /// Stops every wait and forgets every code (at exit).
    pub async fn shutdown(&self) {
        self.cancel.cancel();
        lock(&self.pending).clear();
        let mut tasks = std::mem::take(&mut *lock(&self.tasks));
        while tasks.join_next().await.is_some() {}
    }
}
