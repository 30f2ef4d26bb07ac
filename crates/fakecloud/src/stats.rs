//! Request counters, kept in memory and exposed by `GET /_admin/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use serde::Serialize;

/// Counters for one route.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct RouteCounter {
    /// Every request that reached the route: also those a rate limit then refused (counted again under
    /// [`StatsSnapshot::throttled`]) and those a fault then broke.
    pub(crate) requests: u64,
    /// File-part bytes received (upload routes; 0 elsewhere).
    pub(crate) bytes: u64,
}

/// How often one WCS block was named by `mkblk` and `bput` requests.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct BlockCounter {
    /// `mkblk` requests for this block (more than 1 means the block was restarted).
    pub(crate) mkblk: u64,
    /// `bput` requests for this block.
    pub(crate) bput: u64,
}

/// 123pan-specific counters.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Pan123Counters {
    /// Authenticated requests made with a token that the 3-token cap had retired (answered code 401
    /// `tokens number has exceeded the limit`); 0 means nobody was logged out by someone else's login.
    pub(crate) retired_token_uses: u64,
}

/// 6pan-specific counters.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct Pan6Counters {
    /// Authenticated requests made with a session token that a newer one had already replaced (see
    /// `pan6::auth` for the exact rule).
    pub(crate) superseded_token_uses: u64,
}

/// HalalCloud upload-host counters of one upload task.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct HalalTaskCounter {
    /// Probes (`GET /{task}/{cid}`) made for this task.
    pub(crate) probes: u64,
    /// Probes answered `true` (the block was stored already).
    pub(crate) probe_hits: u64,
    /// Blocks received (`POST /{task}/{cid}` with a good CID) for this task.
    pub(crate) blocks: u64,
    /// Block bytes received for this task.
    pub(crate) bytes: u64,
}

/// HalalCloud counters.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct HalalCounters {
    /// Every block probe.
    pub(crate) blocks_probed: u64,
    /// Probes answered `true`.
    pub(crate) probe_hits: u64,
    /// Every block received with a good CID.
    pub(crate) blocks_received: u64,
    /// Bytes of those blocks.
    pub(crate) block_bytes: u64,
    /// Per upload task.
    pub(crate) tasks: BTreeMap<String, HalalTaskCounter>,
}

/// Snapshot returned by `GET /_admin/stats`.
#[derive(Debug, Default, Clone, Serialize)]
pub(crate) struct StatsSnapshot {
    /// Per route name (e.g. `"123pan/slice"`).
    pub(crate) routes: BTreeMap<String, RouteCounter>,
    /// Per route name: requests refused by the route's rate limit (only routes with refusals appear).
    pub(crate) throttled: BTreeMap<String, u64>,
    /// 123pan: per upload id, per slice number: how many slice requests named that slice.
    pub(crate) slices: BTreeMap<String, BTreeMap<u32, u64>>,
    /// WCS: per `UploadBatch`, per 0-based block order: the requests that named that block.
    pub(crate) wcs_blocks: BTreeMap<String, BTreeMap<u32, BlockCounter>>,
    /// 123pan counters.
    #[serde(rename = "123pan")]
    pub(crate) pan123: Pan123Counters,
    /// 6pan counters.
    #[serde(rename = "6pan")]
    pub(crate) pan6: Pan6Counters,
    /// HalalCloud upload-host counters.
    pub(crate) halalcloud: HalalCounters,
}

/// Which WCS request named a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BlockRequest {
    /// `mkblk`.
    Mkblk,
    /// `bput`.
    Bput,
}

/// Thread-safe counters. Locks are held for a few instructions only, so a std mutex is fine in async code.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    inner: Mutex<StatsSnapshot>,
}

impl Stats {
    fn with<T>(&self, f: impl FnOnce(&mut StatsSnapshot) -> T) -> T {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Counts one request to `route`.
    pub(crate) fn request(&self, route: &str) {
        self.with(|s| s.routes.entry(route.to_owned()).or_default().requests += 1);
    }

    /// Counts one request to `route` refused by its rate limit (it was already counted by
    /// [`Stats::request`]).
    pub(crate) fn throttled(&self, route: &str) {
        self.with(|s| *s.throttled.entry(route.to_owned()).or_default() += 1);
    }

    /// Adds received payload bytes to `route`.
    pub(crate) fn bytes(&self, route: &str, n: u64) {
        self.with(|s| s.routes.entry(route.to_owned()).or_default().bytes += n);
    }

    /// Counts one receipt of slice `slice_no` of upload `upload_id`.
    pub(crate) fn slice(&self, upload_id: &str, slice_no: u32) {
        self.with(|s| *s.slices.entry(upload_id.to_owned()).or_default().entry(slice_no).or_default() += 1);
    }

    /// Counts one `mkblk` or `bput` request for block `order` of upload batch `batch`.
    pub(crate) fn wcs_block(&self, batch: &str, order: u32, kind: BlockRequest) {
        self.with(|s| {
            let counter = s.wcs_blocks.entry(batch.to_owned()).or_default().entry(order).or_default();
            match kind {
                BlockRequest::Mkblk => counter.mkblk += 1,
                BlockRequest::Bput => counter.bput += 1,
            }
        });
    }

    /// Counts one 123pan request made with a token retired by the 3-token cap.
    pub(crate) fn retired_token_use(&self) {
        self.with(|s| s.pan123.retired_token_uses += 1);
    }

    /// Counts one 6pan request made with a superseded session token.
    pub(crate) fn superseded_token_use(&self) {
        self.with(|s| s.pan6.superseded_token_uses += 1);
    }

    /// Counts one HalalCloud block probe of `task`; `hit` when it answered `true`.
    pub(crate) fn halal_probe(&self, task: &str, hit: bool) {
        self.with(|s| {
            let h = &mut s.halalcloud;
            h.blocks_probed += 1;
            h.probe_hits += u64::from(hit);
            let t = h.tasks.entry(task.to_owned()).or_default();
            t.probes += 1;
            t.probe_hits += u64::from(hit);
        });
    }

    /// Counts one HalalCloud block of `bytes` bytes received for `task`.
    pub(crate) fn halal_block(&self, task: &str, bytes: u64) {
        self.with(|s| {
            let h = &mut s.halalcloud;
            h.blocks_received += 1;
            h.block_bytes += bytes;
            let t = h.tasks.entry(task.to_owned()).or_default();
            t.blocks += 1;
            t.bytes += bytes;
        });
    }

    /// A copy of every counter.
    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        self.with(|s| s.clone())
    }

    /// Zeroes every counter.
    pub(crate) fn reset(&self) {
        self.with(|s| *s = StatsSnapshot::default());
    }
}
