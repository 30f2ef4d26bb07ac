//! Server configuration.

use std::path::PathBuf;
use std::time::Duration;

use crate::rate_limits::RateLimits;

/// Everything needed to start a fake cloud.
#[derive(Debug, Clone)]
pub struct Config {
    /// Where metadata (SQLite), stored files and in-progress uploads live; created when missing.
    pub data_dir: PathBuf,
    /// Behaviour of the 123pan endpoints.
    pub pan123: Pan123Config,
    /// Behaviour of the 6pan endpoints and of the WCS upload host they hand out.
    pub pan6: Pan6Config,
    /// Behaviour of the HalalCloud v6 open API (`/halalcloud`) and its upload host (`/halalcloud-upload`).
    pub halalcloud: HalalCloudConfig,
    /// Per-route request-rate limits, enforced as a sliding one-second window (see [`RateLimits`]);
    /// default none. Can be replaced while running with [`crate::RunningCloud::set_rate_limits`] or
    /// `PUT /_admin/rate-limits`.
    pub rate_limits: RateLimits,
}

impl Config {
    /// A configuration with default provider settings, keeping its data in `data_dir`.
    pub fn new(data_dir: impl Into<PathBuf>) -> Self {
        Self {
            data_dir: data_dir.into(),
            pan123: Pan123Config::default(),
            pan6: Pan6Config::default(),
            halalcloud: HalalCloudConfig::default(),
            rate_limits: RateLimits::default(),
        }
    }
}

/// Behaviour of the 123pan open-platform endpoints.
#[derive(Clone)]
pub struct Pan123Config {
    /// The only `clientID` accepted by `/api/v1/access_token`.
    pub client_id: String,
    /// The `clientSecret` that goes with [`Pan123Config::client_id`].
    pub client_secret: String,
    /// How long an issued access token stays valid.
    pub token_lifetime: Duration,
    /// `sliceSize` announced by `upload/v2/file/create` for new upload sessions.
    pub slice_size: u64,
    /// How many `upload_complete` calls of each upload answer "not yet" (alternating `completed:false` and
    /// code 20103) before the upload really completes.
    pub complete_pending_polls: u32,
    /// `false` makes `upload/v2/file/create` answer `servers: []`, so clients must fall back to
    /// `upload/v2/file/domain`.
    pub advertise_servers: bool,
}

impl Default for Pan123Config {
    fn default() -> Self {
        Self {
            client_id: "demo".to_owned(),
            client_secret: "demo-secret".to_owned(),
            token_lifetime: Duration::from_secs(30 * 24 * 3600),
            slice_size: 16 * 1024 * 1024,
            complete_pending_polls: 0,
            advertise_servers: true,
        }
    }
}

// Hand-written so that the secret never ends up in a log line.
impl std::fmt::Debug for Pan123Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pan123Config")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("token_lifetime", &self.token_lifetime)
            .field("slice_size", &self.slice_size)
            .field("complete_pending_polls", &self.complete_pending_polls)
            .field("advertise_servers", &self.advertise_servers)
            .finish()
    }
}

/// Behaviour of the 6pan API (`/6pan`) and of the WCS upload host (`/wcs`).
#[derive(Clone)]
pub struct Pan6Config {
    /// The account name accepted as `value` by both login routes (`"demo"`).
    pub login_value: String,
    /// The account password in clear (`"demo-secret"`); clients send its lower-case MD5 hex.
    pub password: String,
    /// How long a 6pan session token (v1 and v2) stays valid after it was issued.
    pub session_token_lifetime: Duration,
    /// How long a WCS upload token stays valid (its policy `deadline`).
    pub upload_token_lifetime: Duration,
    /// The WCS AccessKey that signs upload tokens.
    pub access_key: String,
    /// The WCS SecretKey that signs upload tokens (and upload callbacks).
    pub secret_key: String,
    /// `true` makes v1 `store/token` answer the 2018-style `uploadUrl` ending in `/file/upload` with a
    /// bucket-only scope plus `saveKey` (form upload only) instead of the bare upload host.
    pub v1_form_upload_url: bool,
    /// `fsizeLimit` written into upload tokens, in bytes; 0 means unlimited.
    pub fsize_limit: u64,
    /// How the form upload answers when a callback ran: each shape WCS documents or peers read.
    pub form_reply: FormReply,
}

/// The shapes of a form upload's answer after a callback (WCS documents `{hash, response}` for uploads with
/// a callback; peers have seen the callback's body as it came and base64 of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FormReply {
    /// The callback server's body as it came.
    #[default]
    Raw,
    /// URL-safe base64 of that body.
    Base64,
    /// `{"hash": <etag>, "response": <body>}`.
    Wrapped,
    /// `{"hash": <etag>, "response": <URL-safe base64 of the body>}`.
    WrappedBase64,
}

impl Default for Pan6Config {
    fn default() -> Self {
        Self {
            login_value: "demo".to_owned(),
            password: "demo-secret".to_owned(),
            session_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            upload_token_lifetime: Duration::from_secs(6 * 3600),
            access_key: "fakecloud-wcs-access-key".to_owned(),
            secret_key: "fakecloud-wcs-secret-key".to_owned(),
            v1_form_upload_url: false,
            fsize_limit: 0,
            form_reply: FormReply::Raw,
        }
    }
}

// Hand-written so that the password and the secret key never end up in a log line.
impl std::fmt::Debug for Pan6Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pan6Config")
            .field("login_value", &self.login_value)
            .field("password", &"<redacted>")
            .field("session_token_lifetime", &self.session_token_lifetime)
            .field("upload_token_lifetime", &self.upload_token_lifetime)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("v1_form_upload_url", &self.v1_form_upload_url)
            .field("fsize_limit", &self.fsize_limit)
            .field("form_reply", &self.form_reply)
            .finish()
    }
}

/// Behaviour of the HalalCloud v6 open API (`/halalcloud`) and of its upload host (`/halalcloud-upload`).
#[derive(Clone)]
pub struct HalalCloudConfig {
    /// The personal key's client_id (`"demo"`): its calls are signed with the empty token.
    pub client_id: String,
    /// The personal key's client_secret (`"demo-secret"`).
    pub client_secret: String,
    /// The app key's client_id (`"demo-app"`), the only one allowed to run the OAuth device-code flow; its
    /// API calls must carry an access token of that flow.
    pub app_client_id: String,
    /// The app key's client_secret (`"demo-app-secret"`).
    pub app_client_secret: String,
    /// How long an access token stays valid (default 2 h).
    pub access_token_lifetime: Duration,
    /// How long a refresh token stays valid when it is not rotated (default 30 days).
    pub refresh_token_lifetime: Duration,
    /// How long a device code can be approved and polled (default 10 min).
    pub device_code_lifetime: Duration,
    /// The `interval` handed out with a device code, in seconds (default 5); polling sooner is refused with
    /// HTTP 429. 0 sends no `interval` and checks nothing.
    pub device_poll_interval_secs: u32,
    /// How far a request's `x-hl-timestamp` may be from the server clock (default 15 min).
    pub clock_skew: Duration,
    /// `block_size` announced by `create_upload_task` (default 4 MiB = 4194304).
    pub block_size: u64,
    /// How long an upload task accepts blocks and its finish (default 24 h).
    pub upload_task_lifetime: Duration,
    /// The drive's size in bytes (default 1 TiB); `create_upload_task` beyond the free space is HTTP 429.
    pub quota_bytes: u64,
}

impl Default for HalalCloudConfig {
    fn default() -> Self {
        Self {
            client_id: "demo".to_owned(),
            client_secret: "demo-secret".to_owned(),
            app_client_id: "demo-app".to_owned(),
            app_client_secret: "demo-app-secret".to_owned(),
            access_token_lifetime: Duration::from_secs(2 * 3600),
            refresh_token_lifetime: Duration::from_secs(30 * 24 * 3600),
            device_code_lifetime: Duration::from_secs(600),
            device_poll_interval_secs: 5,
            clock_skew: Duration::from_secs(15 * 60),
            block_size: 4 * 1024 * 1024,
            upload_task_lifetime: Duration::from_secs(24 * 3600),
            quota_bytes: 1 << 40,
        }
    }
}

// Hand-written so that the secrets never end up in a log line.
impl std::fmt::Debug for HalalCloudConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HalalCloudConfig")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("app_client_id", &self.app_client_id)
            .field("app_client_secret", &"<redacted>")
            .field("access_token_lifetime", &self.access_token_lifetime)
            .field("refresh_token_lifetime", &self.refresh_token_lifetime)
            .field("device_code_lifetime", &self.device_code_lifetime)
            .field("device_poll_interval_secs", &self.device_poll_interval_secs)
            .field("clock_skew", &self.clock_skew)
            .field("block_size", &self.block_size)
            .field("upload_task_lifetime", &self.upload_task_lifetime)
            .field("quota_bytes", &self.quota_bytes)
            .finish()
    }
}
