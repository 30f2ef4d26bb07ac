//! HalalCloud (the former 6pan, 六盘) open API v6 at `openapi.2dland.cn`
//! (`../shared/protocols/halalcloud.md`).
//!
//! Every API call is a signed JSON `POST /v6/<service>/<method>` (spec §2): int64 fields travel as JSON
//! strings, and the signature is HL6-HMAC-SHA256, an AWS-SigV4-like scheme keyed by the client secret and
//! scoped to the day and the access token (`sign.rs`, spec §4). A personal key signs with an empty token; an
//! app key gets one through the OAuth device flow (spec §3, §5.1).
//!
//! An upload (spec §6) opens with `create_upload_task`, which names an upload host, a task and a block size;
//! the file is cut into blocks of that size, each named by its CIDv1 (`cid.rs`, §6.4), probed and, unless the
//! host holds it already, posted to the host without any auth; the finish call lists every block's CID in
//! order. A `.torrent` goes to the offline download as a magnet built locally (`magnet.rs`, §5.4), since no
//! v6 field is known to carry torrent bytes. Wire types and the error mapping (§2, §5–§6) are in `api.rs`.

pub(crate) mod api;
mod bencode;
#[allow(dead_code)]
pub(crate) mod cid;
mod client;
mod dirs;
mod escape;
pub(crate) mod factory;
pub(crate) mod magnet;
mod oauth;
mod offline;
mod provider;
mod session;
pub(crate) mod sign;

pub use offline::TORRENT_DIR;
pub use provider::{EXPECTED_BLOCK_SIZE, HalalCloud, HalalCloudConfig};

/// Name used in messages.
pub(crate) const PROVIDER: &str = "halalcloud";

impl crate::store::ProviderKind {
    /// HalalCloud's v6 open API (6盘 today).
    pub const HALALCLOUD: Self = Self::named(PROVIDER);
}

/// The real cloud's API base.
pub const DEFAULT_ENDPOINT: &str = "https://openapi.2dland.cn";
