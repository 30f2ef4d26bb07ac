//! Turns command-line choices into a connected cloud: endpoint, credentials (environment, keyring or the
//! sandbox's demo account) and the provider.

use clap::ValueEnum;
use pandrop_engine::http;
use pandrop_engine::provider::registry::{self, ConnectRequest, Credentials};
use pandrop_engine::provider::{CloudProvider, DuplicatePolicy};
use pandrop_engine::secret::{ExposeSecret, SecretString, secret};
use pandrop_engine::secrets::{KeyringStore, SecretKey, SecretStore, SharedTokens, TokenFiles};
use pandrop_engine::store::ProviderKind;
use pandrop_fakecloud::RunningCloud;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use url::Url;

use crate::CliError;
use crate::sandbox;

/// Which cloud: a name the engine's provider registry knows (`123pan`, `6pan-v1`, `6pan-v2`, `halalcloud`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) struct ProviderArg(ProviderKind);

impl ProviderArg {
    /// Parses `--provider`: the registered names, which `--help` lists.
    pub(crate) fn parser() -> impl clap::builder::TypedValueParser<Value = ProviderArg> {
        use clap::builder::TypedValueParser;
        clap::builder::PossibleValuesParser::new(ProviderKind::all().map(ProviderKind::as_str))
            .map(|name| ProviderArg(name.parse().expect("a registered name")))
    }

    /// The first registered cloud, the default of `--provider`.
    pub(crate) fn default_name() -> &'static str {
        registry::FACTORIES[0].info().kind.as_str()
    }

    /// Its name on the command line.
    pub(crate) fn name(self) -> &'static str {
        self.0.as_str()
    }

    /// The engine's kind of this cloud.
    pub(crate) fn kind(self) -> ProviderKind {
        self.0
    }

    /// Its entry in the provider registry.
    pub(crate) fn factory(self) -> &'static dyn registry::ProviderFactory {
        registry::factory(self.0)
    }

    /// The real cloud's endpoint.
    pub(crate) fn default_endpoint(self) -> &'static str {
        self.factory().info().default_endpoint
    }

    /// The name of the stored secret (the session token `login` stores) for an endpoint.
    pub(crate) fn token_key(self, endpoint: &Url) -> SecretKey {
        SecretKey::new(&format!("{} token", self.0), endpoint.as_str())
    }

    /// Builds the argument for a stored kind.
    pub(crate) fn of(kind: ProviderKind) -> Self {
        Self(kind)
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

/// Where a cloud's access token is kept between runs (`--token-cache`), so that runs do not each get one
/// (123pan keeps three per clientID; a fourth logs the oldest out).
#[derive(Clone, Copy, PartialEq, Eq, Debug, ValueEnum)]
pub(crate) enum TokenCacheArg {
    /// The OS keyring, shared with the desktop app.
    Keyring,
    /// A file readable only by you in the data folder, for machines without a keyring (a server, a timer).
    File,
    /// Nowhere: every run gets a new token.
    None,
}

/// Where a stored token goes for `choice`: the keyring when one answers, the data folder's token files when
/// asked for, else this process only, with a note saying what that costs.
fn shared_tokens(choice: TokenCacheArg, data_dir: &Path, provider: ProviderArg) -> SharedTokens {
    let dir = data_dir.join(TOKENS_DIR);
    let not_kept = |why: String| {
        if provider.factory().info().shares_tokens {
            eprintln!(
                "note: {why}, so this run gets a new {} access token. The cloud keeps at most three per clientID: \
                 runs from a timer log out the desktop app and other clients in turn. `--token-cache file` keeps \
                 the token in {}, readable only by you",
                provider.name(),
                dir.display()
            );
        }
        SharedTokens::in_process()
    };
    match choice {
        TokenCacheArg::Keyring => match KeyringStore.get(&SecretKey::new("probe", "keyring")) {
            Ok(_) => SharedTokens::for_user(Arc::new(KeyringStore)),
            Err(e) => not_kept(format!("no keyring answers ({e})")),
        },
        TokenCacheArg::File => SharedTokens::new(Arc::new(TokenFiles::new(&dir)), dir),
        TokenCacheArg::None => not_kept("--token-cache none".to_owned()),
    }
}

/// The folder of `--token-cache file` inside the data folder.
const TOKENS_DIR: &str = "tokens";

/// Where the account's secret came from, so a renewed one can go back there.
enum SecretOrigin {
    /// An environment variable, holding this value: the environment cannot be written back, so a renewal is
    /// only announced, never printed.
    Environment(&'static str, SecretString),
    Keyring(SecretKey),
    Sandbox,
}

/// A provider ready for uploads, and what keeps it working.
pub(crate) struct Connection {
    /// The provider as the transfer driver sees it.
    pub provider: Arc<dyn CloudProvider>,
    origin: SecretOrigin,
    /// Keeps the sandbox cloud running while the connection lives.
    sandbox: Option<RunningCloud>,
}

/// Knobs of a connection.
pub(crate) struct ConnectOptions {
    pub provider: ProviderArg,
    pub endpoint: Option<Url>,
    pub sandbox: bool,
    pub single_step_max: u64,
    /// Where the access token is kept between runs, and the data folder for `--token-cache file`.
    pub token_cache: TokenCacheArg,
    pub data_dir: PathBuf,
}

impl Connection {
    /// Connects as the options say, through the engine's provider registry.
    pub(crate) async fn open(opts: ConnectOptions) -> Result<Self, CliError> {
        let kind = opts.provider.kind();
        let factory = registry::factory(kind);
        let http = http::client();
        let (endpoint, credentials, origin, sandbox_cloud, tokens) = if opts.sandbox {
            let cloud = sandbox::start(([127, 0, 0, 1], 0).into(), sandbox::default_data_dir()).await?;
            let endpoint = registry::sandbox_endpoint(kind, &parse_url(&cloud.base_url())?).map_err(anyhow::Error::from)?;
            let credentials = factory.sandbox_credentials(&http, &endpoint).await.map_err(anyhow::Error::from)?;
            // The sandbox runs in this process on a new port each time: its token stays here too.
            (
                endpoint,
                credentials,
                SecretOrigin::Sandbox,
                Some(cloud),
                SharedTokens::in_process(),
            )
        } else {
            let endpoint = match opts.endpoint {
                Some(url) => url,
                None => parse_url(factory.info().default_endpoint)?,
            };
            let (credentials, origin) = credentials(opts.provider, &endpoint)?;
            let tokens = shared_tokens(opts.token_cache, &opts.data_dir, opts.provider);
            (endpoint, credentials, origin, None, tokens)
        };
        let request = ConnectRequest {
            http,
            endpoint,
            credentials,
            tokens,
            options: registry::ConnectOptions {
                single_step_max: opts.single_step_max,
                ..registry::ConnectOptions::STANDARD
            },
        };
        let provider = factory.connect(request).await.map_err(|e| CliError::Usage(e.to_string()))?;
        Ok(Self {
            provider,
            origin,
            sandbox: sandbox_cloud,
        })
    }

    /// Saves the secret the cloud renewed where the first one came from, and stops the sandbox.
    pub(crate) async fn close(self, verbose: bool) -> Result<(), CliError> {
        if let Some(current) = self.provider.current_secret() {
            match &self.origin {
                SecretOrigin::Keyring(key) => KeyringStore.set(key, &current).map_err(anyhow::Error::from)?,
                SecretOrigin::Environment(name, first) if verbose && first.expose_secret() != current.expose_secret() => {
                    eprintln!(
                        "note: {} renewed the session token during this run; the one in {name} may stop working. \
                         `pandrop-cli login` keeps the token in the keyring, where renewals are saved",
                        self.provider.name()
                    );
                }
                SecretOrigin::Environment(..) | SecretOrigin::Sandbox => {}
            }
        }
        if let Some(cloud) = self.sandbox {
            cloud.shutdown().await;
        }
        Ok(())
    }
}

/// An account's credentials from the environment (each field's variable), the secret else from the keyring,
/// where `pandrop-cli login` keeps it.
fn credentials(provider: ProviderArg, endpoint: &Url) -> Result<(Credentials, SecretOrigin), CliError> {
    let info = registry::factory(provider.kind()).info();
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let mut credentials = Credentials::default();
    let mut origin = None;
    let mut missing_plain = None;
    for field in info.fields {
        if let Some(value) = from_env(field.env) {
            if field.secret {
                origin = Some(SecretOrigin::Environment(field.env, secret(value.clone())));
            }
            credentials.set(field.key, secret(value));
            continue;
        }
        if !field.secret {
            missing_plain = missing_plain.or(Some(field.env));
            continue;
        }
        let key = provider.token_key(endpoint);
        match KeyringStore.get(&key) {
            Ok(Some(value)) => {
                credentials.set(field.key, value);
                origin = Some(SecretOrigin::Keyring(key));
            }
            Ok(None) | Err(_) => return Err(missing(provider, field.env, endpoint)),
        }
    }
    let origin = origin.ok_or_else(|| missing(provider, info.secret_field().env, endpoint))?;
    // A sign-in by code (kept in the keyring by `login`) is the whole credential; a key needs every field.
    let signed_in = matches!(origin, SecretOrigin::Keyring(_)) && provider.factory().signs_in_by_device();
    match missing_plain {
        Some(env) if !signed_in => Err(missing(provider, env, endpoint)),
        _ => Ok((credentials, origin)),
    }
}

/// What to do about a credential the CLI found nowhere.
fn missing(provider: ProviderArg, env: &str, endpoint: &Url) -> CliError {
    let info = provider.factory().info();
    let all: Vec<&str> = info.fields.iter().map(|f| f.env).collect();
    CliError::Usage(if provider.factory().signs_in_by_device() {
        format!(
            "{env} is not set: export {} with your {} key, or run `pandrop-cli login {} --endpoint {endpoint}` \
             to sign in with a code, or use --sandbox",
            all.join(" and "),
            provider.name(),
            provider.name()
        )
    } else if provider.factory().signs_in() {
        format!(
            "no {} for {}: run `pandrop-cli login {} --endpoint {endpoint}` or set {env}",
            info.secret_field().key,
            provider.name(),
            provider.name()
        )
    } else {
        format!(
            "{env} is not set: export {} with the credentials of your {} account, or use --sandbox",
            all.join(" and "),
            provider.name()
        )
    })
}

fn parse_url(text: &str) -> Result<Url, CliError> {
    Url::parse(text).map_err(|e| CliError::Usage(format!("{text:?} is not a URL: {e}")))
}
