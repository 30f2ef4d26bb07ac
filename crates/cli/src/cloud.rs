//! Turns command-line choices into a connected cloud: endpoint, credentials (environment, keyring or the
//! sandbox's demo account) and the provider.

use clap::ValueEnum;
use pandrop_engine::http::{self, RetryPolicy};
use pandrop_engine::provider::pan6::{self, Pan6, Pan6Api, Pan6Config};
use pandrop_engine::provider::pan123::{self, Pan123, Pan123Config};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy};
use pandrop_engine::secret::{ExposeSecret, SecretString, secret};
use pandrop_engine::secrets::{KeyringStore, SecretKey, SecretStore};
use pandrop_fakecloud::RunningCloud;
use std::sync::Arc;
use url::Url;

use crate::CliError;
use crate::sandbox;

/// Environment variable holding the 123pan clientID.
pub(crate) const ENV_CLIENT_ID: &str = "PANDROP_CLIENT_ID";
/// Environment variable holding the 123pan clientSecret.
pub(crate) const ENV_CLIENT_SECRET: &str = "PANDROP_CLIENT_SECRET";
/// Environment variable holding a 6pan session token.
pub(crate) const ENV_6PAN_TOKEN: &str = "PANDROP_6PAN_TOKEN";

/// Which cloud.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProviderArg {
    /// 123pan open platform (clientID/clientSecret).
    #[value(name = "123pan")]
    Pan123,
    /// 6pan, API v1 (`/v1/store/token`).
    #[value(name = "6pan-v1")]
    Pan6V1,
    /// 6pan, API v2 (`/v2/upload/token`).
    #[value(name = "6pan-v2")]
    Pan6V2,
}

impl ProviderArg {
    /// The name on the command line (`123pan`, `6pan-v1`, `6pan-v2`).
    pub(crate) fn name(self) -> String {
        self.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default()
    }

    /// The 6pan API generation, for the 6pan choices.
    pub(crate) fn pan6_api(self) -> Option<Pan6Api> {
        match self {
            Self::Pan123 => None,
            Self::Pan6V1 => Some(Pan6Api::V1),
            Self::Pan6V2 => Some(Pan6Api::V2),
        }
    }

    /// The real cloud's endpoint.
    pub(crate) fn default_endpoint(self) -> &'static str {
        match self {
            Self::Pan123 => pan123::DEFAULT_ENDPOINT,
            Self::Pan6V1 | Self::Pan6V2 => pan6::DEFAULT_ENDPOINT,
        }
    }

    /// The name of the stored session token for an endpoint.
    pub(crate) fn token_key(self, endpoint: &Url) -> SecretKey {
        let what = match self {
            Self::Pan123 => "123pan token",
            Self::Pan6V1 => "6pan-v1 token",
            Self::Pan6V2 => "6pan-v2 token",
        };
        SecretKey::new(what, endpoint.as_str())
    }
}

/// What to do when a file of the same name exists (`--duplicate`).
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum DuplicateArg {
    /// Keep both; the cloud renames the new file.
    Keep,
    /// Replace the existing file.
    Overwrite,
}

impl DuplicateArg {
    /// The engine's policy for an optional `--duplicate` (none: fail that file).
    pub(crate) fn policy(arg: Option<Self>) -> DuplicatePolicy {
        match arg {
            None => DuplicatePolicy::Fail,
            Some(Self::Keep) => DuplicatePolicy::KeepBoth,
            Some(Self::Overwrite) => DuplicatePolicy::Overwrite,
        }
    }
}

/// Where a 6pan session token came from, so the rotated one can go back there.
enum TokenOrigin {
    /// `PANDROP_6PAN_TOKEN`, holding this token: the environment cannot be written back, so a renewal is
    /// only announced, never printed.
    Environment(SecretString),
    Keyring(SecretKey),
    Sandbox,
}

/// A provider ready for uploads, and what keeps it working.
pub(crate) struct Connection {
    /// The provider as the transfer driver sees it.
    pub provider: Arc<dyn CloudProvider>,
    /// The concrete 6pan provider, for offline downloads and the rotated token.
    pub pan6: Option<Arc<Pan6>>,
    origin: Option<TokenOrigin>,
    /// Keeps the sandbox cloud running while the connection lives.
    sandbox: Option<RunningCloud>,
}

/// Knobs of a connection.
pub(crate) struct ConnectOptions {
    pub provider: ProviderArg,
    pub endpoint: Option<Url>,
    pub sandbox: bool,
    pub single_step_max: u64,
}

impl Connection {
    /// Connects as the options say.
    pub(crate) async fn open(opts: ConnectOptions) -> Result<Self, CliError> {
        let mut sandbox_cloud = None;
        let endpoint = if opts.sandbox {
            let cloud = sandbox::start(([127, 0, 0, 1], 0).into(), sandbox::default_data_dir()).await?;
            let url = match opts.provider {
                ProviderArg::Pan123 => cloud.pan123_url(),
                ProviderArg::Pan6V1 | ProviderArg::Pan6V2 => format!("{}/6pan", cloud.base_url()),
            };
            sandbox_cloud = Some(cloud);
            parse_url(&url)?
        } else {
            match opts.endpoint {
                Some(url) => url,
                None => parse_url(opts.provider.default_endpoint())?,
            }
        };
        let http = http::client();
        let (provider, pan6, origin): (Arc<dyn CloudProvider>, _, _) = match opts.provider.pan6_api() {
            None => {
                let (id, key) = if opts.sandbox {
                    (sandbox::DEMO_CLIENT_ID.to_owned(), sandbox::DEMO_CLIENT_SECRET.to_owned())
                } else {
                    (required_env(ENV_CLIENT_ID)?, required_env(ENV_CLIENT_SECRET)?)
                };
                let mut config = Pan123Config::new(endpoint, id, secret(key));
                config.single_step_max = opts.single_step_max;
                config.retry = RetryPolicy::default();
                (
                    Arc::new(Pan123::new(http, config).map_err(|e| CliError::Usage(e.to_string()))?),
                    None,
                    None,
                )
            }
            Some(api) => {
                let (token, origin) = if opts.sandbox {
                    let password = secret(sandbox::DEMO_CLIENT_SECRET);
                    let token = pan6::login(&http, &endpoint, api, sandbox::DEMO_CLIENT_ID, &password)
                        .await
                        .map_err(anyhow::Error::from)?;
                    (token, TokenOrigin::Sandbox)
                } else {
                    pan6_token(opts.provider, &endpoint)?
                };
                let pan6 = Arc::new(Pan6::new(http, Pan6Config::new(endpoint, api, token)));
                (Arc::clone(&pan6) as Arc<dyn CloudProvider>, Some(pan6), Some(origin))
            }
        };
        Ok(Self {
            provider,
            pan6,
            origin,
            sandbox: sandbox_cloud,
        })
    }

    /// Saves the newest 6pan token where the first one came from and stops the sandbox.
    pub(crate) async fn close(self, verbose: bool) -> Result<(), CliError> {
        if let (Some(pan6), Some(origin)) = (&self.pan6, &self.origin) {
            let newest = pan6.session_token();
            match origin {
                TokenOrigin::Keyring(key) => KeyringStore.set(key, &newest).map_err(anyhow::Error::from)?,
                TokenOrigin::Environment(first) if verbose && first.expose_secret() != newest.expose_secret() => {
                    eprintln!(
                        "note: 6pan renewed the session token during this run; the one in {ENV_6PAN_TOKEN} may stop working. \
                         `pandrop-cli login` keeps the token in the keyring, where renewals are saved"
                    );
                }
                TokenOrigin::Environment(_) | TokenOrigin::Sandbox => {}
            }
        }
        if let Some(cloud) = self.sandbox {
            cloud.shutdown().await;
        }
        Ok(())
    }
}

/// The 6pan token: `PANDROP_6PAN_TOKEN`, else the one `pandrop-cli login` stored in the keyring.
fn pan6_token(provider: ProviderArg, endpoint: &Url) -> Result<(SecretString, TokenOrigin), CliError> {
    if let Ok(token) = std::env::var(ENV_6PAN_TOKEN)
        && !token.is_empty()
    {
        return Ok((secret(token.clone()), TokenOrigin::Environment(secret(token))));
    }
    let key = provider.token_key(endpoint);
    let missing = || {
        CliError::Usage(format!(
            "no 6pan session token: run `pandrop-cli login {} --endpoint {endpoint}` or set {ENV_6PAN_TOKEN}",
            provider.name()
        ))
    };
    match KeyringStore.get(&key) {
        Ok(Some(token)) => Ok((token, TokenOrigin::Keyring(key))),
        Ok(None) | Err(_) => Err(missing()),
    }
}

fn required_env(name: &str) -> Result<String, CliError> {
    match std::env::var(name) {
        Ok(v) if !v.is_empty() => Ok(v),
        _ => Err(CliError::Usage(format!(
            "{name} is not set: export {ENV_CLIENT_ID} and {ENV_CLIENT_SECRET} with your 123pan developer credentials, or use --sandbox"
        ))),
    }
}

fn parse_url(text: &str) -> Result<Url, CliError> {
    Url::parse(text).map_err(|e| CliError::Usage(format!("{text:?} is not a URL: {e}")))
}
