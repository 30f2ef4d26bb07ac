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

// Wired into the provider next: until then nothing outside the tests calls these modules.
#![allow(dead_code)]

pub(crate) mod api;
mod bencode;
pub(crate) mod cid;
mod escape;
pub(crate) mod magnet;
pub(crate) mod sign;

/// Name used in messages.
pub(crate) const PROVIDER: &str = "halalcloud";
