//! The sign-in by a code entered at the cloud's website, for the app: start it (the code to show), then wait
//! and save the account with what the sign-in returned as its secret.

use url::Url;

use super::model::{Account, ProfileInput};
use super::{Accounts, SANDBOX_ENDPOINT};
use crate::error::{Error, Result};
use crate::provider::registry::{self, DeviceSignIn};
use crate::secrets::off_thread;
use crate::store::ProviderKind;

impl Accounts {
    /// Starts a sign-in by code for an account of `provider` at `endpoint` (`None`: the real cloud): what to
    /// show the user. The built-in sandbox signs in with its demo key, so it has no sign-in by code.
    pub async fn start_device_sign_in(&self, provider: ProviderKind, endpoint: Option<&str>) -> Result<DeviceSignIn> {
        let factory = registry::factory(provider);
        if !factory.signs_in_by_device() {
            return Err(Error::invalid(
                provider.as_str(),
                "has no sign-in by code: enter the account's credentials",
            ));
        }
        let endpoint = device_endpoint(provider, endpoint)?;
        factory.device_sign_in(&self.inner.http, &endpoint).await
    }

    /// Waits until the user has entered the code of `sign_in`, then saves `input` (its `secret` is ignored;
    /// it needs no key fields) with the sign-in as its secret. The input is checked before the wait, so a
    /// mistake in it does not spend an approved code. Cancel by dropping the future; fails when the code
    /// expires.
    pub async fn finish_device_sign_in(&self, mut input: ProfileInput, sign_in: &DeviceSignIn) -> Result<Account> {
        let factory = registry::factory(input.provider);
        let endpoint = device_endpoint(input.provider, input.endpoint.as_deref())?;
        let (accounts, probe) = (self.clone(), input.clone());
        off_thread(move || accounts.checked(&probe, true).map(drop)).await?;
        let secret = factory.device_sign_in_wait(&self.inner.http, &endpoint, sign_in).await?;
        input.secret = Some(secret);
        let accounts = self.clone();
        off_thread(move || accounts.save_as(input, true)).await
    }
}

/// The API base a sign-in by code goes to: the one given, or the real cloud's.
fn device_endpoint(provider: ProviderKind, endpoint: Option<&str>) -> Result<Url> {
    let text = match endpoint.map(str::trim) {
        None | Some("") => registry::factory(provider).info().default_endpoint,
        Some(SANDBOX_ENDPOINT) => {
            return Err(Error::invalid(
                "sandbox",
                "signs in with its demo key; a sign-in by code needs the cloud's address",
            ));
        }
        Some(text) => text,
    };
    Url::parse(text).map_err(|e| Error::invalid(format!("endpoint {text:?}"), e.to_string()))
}
