//! A lane: the share of the hashing work one thread does.
//!
//! Every lane sees every buffer of the file, in order, with its offset, and hashes only its own part:
//! the whole-file MD5, the per-slice MD5s, and/or some of the etag blocks. Etag blocks are independent of
//! each other, so they can be dealt out to lanes by block index (`Share`); MD5s cannot be split.
//! Buffers need not line up with slices or blocks: a buffer is cut wherever a slice or block ends.

use sha1::{Digest as _, Sha1};

/// A SHA-256 being computed (OpenSSL's, with the SHA extensions where the CPU has them).
struct Sha256(openssl::sha::Sha256);

impl std::fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sha256")
    }
}

use super::etag::{BlockDigests, Sha1Digest};
use super::md5::Md5;
use super::{ETAG_BLOCK_SIZE, HashRequest};

/// Which of a run of consecutive units (etag blocks) a lane hashes: those with
/// `index % every == first`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Share {
    /// How many lanes share the units.
    pub(super) every: u64,
    /// This lane's residue.
    pub(super) first: u64,
}

impl Share {
    /// Every unit.
    pub(super) const ALL: Self = Self { every: 1, first: 0 };

    fn owns(self, index: u64) -> bool {
        index % self.every == self.first
    }
}

/// The jobs of one lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct LaneJobs {
    /// Whole-file MD5.
    pub(super) md5: bool,
    /// Per-slice MD5s of slices of this size (all slices: each is sequential).
    pub(super) slice_size: Option<u64>,
    /// The etag blocks this lane hashes.
    pub(super) etag: Option<Share>,
    /// The SHA-256 blocks of this size this lane hashes.
    pub(super) sha256: Option<(u64, Share)>,
}

impl LaneJobs {
    /// Whether the lane has nothing to do.
    pub(super) fn is_idle(&self) -> bool {
        !self.md5 && self.slice_size.is_none() && self.etag.is_none() && self.sha256.is_none()
    }
}

/// Splits `req` into lanes that can run on separate threads.
///
/// `threads` is false for small inputs, where starting threads costs more than it saves: everything then
/// goes to one lane. `slices` is false when the slices need no pass of their own.
pub(super) fn plan(req: HashRequest, slices: bool, threads: bool) -> Vec<LaneJobs> {
    let slice_size = if slices { req.slice_size } else { None };
    if !threads {
        let jobs = LaneJobs {
            md5: req.md5,
            slice_size,
            etag: req.etag.then_some(Share::ALL),
            sha256: req.block_sha256.map(|size| (size, Share::ALL)),
        };
        return if jobs.is_idle() { Vec::new() } else { vec![jobs] };
    }
    // MD5 streams cost about twice the etag's SHA-1 (with SHA-NI), and they cannot be split: each gets a
    // lane, and the etag blocks go where they balance the load best.
    let mut lanes = Vec::with_capacity(2);
    if req.md5 {
        lanes.push(LaneJobs {
            md5: true,
            ..LaneJobs::default()
        });
    }
    if slice_size.is_some() {
        lanes.push(LaneJobs {
            slice_size,
            ..LaneJobs::default()
        });
    }
    if req.etag {
        match lanes.len() {
            // Etag only: two lanes halve its time (there are two cores).
            0 => {
                for first in 0..2 {
                    lanes.push(LaneJobs {
                        etag: Some(Share { every: 2, first }),
                        ..LaneJobs::default()
                    });
                }
            }
            // One MD5 stream sets the pace; the etag and the reading fit beside it on the other core.
            1 => lanes.push(LaneJobs {
                etag: Some(Share::ALL),
                ..LaneJobs::default()
            }),
            // Two MD5 streams fill both cores: share the blocks between them.
            _ => {
                for (first, lane) in (0..).zip(lanes.iter_mut()) {
                    lane.etag = Some(Share { every: 2, first });
                }
            }
        }
    }
    if let Some(size) = req.block_sha256 {
        // SHA-256 blocks are independent like the etag's: alone they are halved between two lanes, beside one
        // MD5 stream they go to the other core, and beside two lanes they are shared between them.
        match lanes.len() {
            0 => {
                for first in 0..2 {
                    lanes.push(LaneJobs {
                        sha256: Some((size, Share { every: 2, first })),
                        ..LaneJobs::default()
                    });
                }
            }
            1 => lanes.push(LaneJobs {
                sha256: Some((size, Share::ALL)),
                ..LaneJobs::default()
            }),
            n => {
                let every = n as u64;
                for (first, lane) in (0..).zip(lanes.iter_mut()) {
                    lane.sha256 = Some((size, Share { every, first }));
                }
            }
        }
    }
    lanes
}

/// What a lane found.
#[derive(Debug, Default)]
pub(super) struct LaneOutput {
    /// Whole-file MD5 (lower-case hex).
    pub(super) md5: Option<String>,
    /// `(slice index, MD5)` of every slice.
    pub(super) slices: Vec<(u64, String)>,
    /// `(block index, SHA-1)` of the etag blocks this lane owns.
    pub(super) blocks: Vec<(u64, Sha1Digest)>,
    /// `(block index, SHA-256)` of the SHA-256 blocks this lane owns.
    pub(super) sha256: Vec<(u64, String)>,
}

/// The running state of one lane.
#[derive(Debug)]
pub(super) struct Lane {
    md5: Option<Md5>,
    slices: Option<Units<Md5>>,
    blocks: Option<Units<Sha1>>,
    sha256: Option<Units<Sha256>>,
}

impl Lane {
    /// A lane with nothing hashed yet.
    pub(super) fn new(jobs: LaneJobs) -> Self {
        Self {
            md5: jobs.md5.then(Md5::new),
            slices: jobs.slice_size.map(|size| Units::new(size, Share::ALL)),
            blocks: jobs.etag.map(|share| Units::new(ETAG_BLOCK_SIZE, share)),
            sha256: jobs.sha256.map(|(size, share)| Units::new(size, share)),
        }
    }

    /// Hashes the next buffer, which starts at byte `offset` of the file.
    pub(super) fn consume(&mut self, offset: u64, data: &[u8]) {
        if let Some(md5) = &mut self.md5 {
            md5.update(data);
        }
        if let Some(slices) = &mut self.slices {
            slices.consume(offset, data);
        }
        if let Some(blocks) = &mut self.blocks {
            blocks.consume(offset, data);
        }
        if let Some(sha256) = &mut self.sha256 {
            sha256.consume(offset, data);
        }
    }

    /// Ends the input: closes the last, partial slice or block.
    pub(super) fn finish(self) -> LaneOutput {
        LaneOutput {
            md5: self.md5.map(Md5::finish_hex),
            slices: self.slices.map(Units::finish).unwrap_or_default(),
            blocks: self.blocks.map(Units::finish).unwrap_or_default(),
            sha256: self.sha256.map(Units::finish).unwrap_or_default(),
        }
    }
}

/// Sorts the lanes' findings into file order and builds the etag from the block digests.
pub(super) fn etag_from(blocks: &mut [(u64, Sha1Digest)]) -> String {
    blocks.sort_unstable_by_key(|(index, _)| *index);
    let mut digests = BlockDigests::new();
    for (expected, (index, digest)) in (0..).zip(blocks.iter()) {
        debug_assert_eq!(*index, expected, "every etag block is hashed exactly once");
        digests.push(*digest);
    }
    digests.finish()
}

/// A digest that can be computed over consecutive fixed-size units of the input.
trait UnitHasher {
    type Output;
    fn start() -> Self;
    fn feed(&mut self, data: &[u8]);
    fn close(self) -> Self::Output;
}

impl UnitHasher for Md5 {
    type Output = String;
    fn start() -> Self {
        Md5::new()
    }
    fn feed(&mut self, data: &[u8]) {
        self.update(data);
    }
    fn close(self) -> String {
        self.finish_hex()
    }
}

impl UnitHasher for Sha1 {
    type Output = Sha1Digest;
    fn start() -> Self {
        Sha1::new()
    }
    fn feed(&mut self, data: &[u8]) {
        self.update(data);
    }
    fn close(self) -> Sha1Digest {
        self.finalize().into()
    }
}

impl UnitHasher for Sha256 {
    type Output = String;
    fn start() -> Self {
        Self(openssl::sha::Sha256::new())
    }
    fn feed(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    fn close(self) -> String {
        hex::encode(self.0.finish())
    }
}

/// One digest per unit of `unit` bytes (slices or etag blocks), for the units this lane owns.
#[derive(Debug)]
struct Units<H: UnitHasher> {
    unit: u64,
    share: Share,
    /// The unit being hashed and its digest so far.
    open: Option<(u64, H)>,
    done: Vec<(u64, H::Output)>,
}

impl<H: UnitHasher> Units<H> {
    fn new(unit: u64, share: Share) -> Self {
        debug_assert!(unit > 0 && share.every > 0);
        Self {
            unit,
            share,
            open: None,
            done: Vec::new(),
        }
    }

    fn consume(&mut self, offset: u64, data: &[u8]) {
        let end = offset + data.len() as u64;
        let mut pos = offset;
        while pos < end {
            let index = pos / self.unit;
            let unit_end = (index + 1).saturating_mul(self.unit);
            let piece_end = end.min(unit_end);
            if self.share.owns(index) {
                let hasher = match &mut self.open {
                    Some((open, hasher)) if *open == index => hasher,
                    open => {
                        // A lane sees every byte in order, so a unit is only left open at the end.
                        debug_assert!(open.is_none(), "unit {index} started before the last one ended");
                        &mut open.insert((index, H::start())).1
                    }
                };
                // Both bounds lie inside `data`, whose length is a usize.
                let from = (pos - offset) as usize;
                let to = (piece_end - offset) as usize;
                hasher.feed(&data[from..to]);
                if piece_end == unit_end {
                    self.close_open();
                }
            }
            pos = piece_end;
        }
    }

    fn close_open(&mut self) {
        if let Some((index, hasher)) = self.open.take() {
            self.done.push((index, hasher.close()));
        }
    }

    fn finish(mut self) -> Vec<(u64, H::Output)> {
        self.close_open();
        self.done
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{etag_of, md5_hex};

    fn req(md5: bool, etag: bool, slice_size: Option<u64>) -> HashRequest {
        HashRequest {
            md5,
            etag,
            slice_size,
            block_sha256: None,
        }
    }

    /// Every job is done exactly once, whatever the plan.
    #[test]
    fn plans_cover_each_job_once() {
        for md5 in [false, true] {
            for etag in [false, true] {
                for slices in [None, Some(7)] {
                    for threads in [false, true] {
                        let lanes = plan(req(md5, etag, slices), true, threads);
                        assert!(lanes.len() <= 2 && lanes.iter().all(|l| !l.is_idle()));
                        assert_eq!(lanes.iter().filter(|l| l.md5).count(), usize::from(md5));
                        let slice_lanes = lanes.iter().filter(|l| l.slice_size.is_some()).count();
                        assert_eq!(slice_lanes, usize::from(slices.is_some()));
                        for block in 0..6 {
                            let owners = lanes.iter().filter(|l| l.etag.is_some_and(|s| s.owns(block))).count();
                            assert_eq!(owners, usize::from(etag));
                        }
                    }
                }
            }
        }
        assert!(plan(req(false, false, Some(3)), false, true).is_empty());
        for md5 in [false, true] {
            for etag in [false, true] {
                for threads in [false, true] {
                    let request = HashRequest {
                        block_sha256: Some(5),
                        ..req(md5, etag, None)
                    };
                    let lanes = plan(request, true, threads);
                    for block in 0..6 {
                        let owners = lanes.iter().filter(|l| l.sha256.is_some_and(|(_, s)| s.owns(block))).count();
                        assert_eq!(owners, 1, "md5 {md5} etag {etag} threads {threads}");
                    }
                    if threads && !md5 && !etag {
                        assert_eq!(lanes.len(), 2, "SHA-256 alone takes both cores");
                    }
                }
            }
        }
    }

    #[test]
    fn the_whole_md5_has_a_lane_of_its_own_unless_slices_need_one_too() {
        let lanes = plan(req(true, true, None), true, true);
        assert_eq!(
            lanes[0],
            LaneJobs {
                md5: true,
                ..LaneJobs::default()
            }
        );
        assert_eq!(lanes[1].etag, Some(Share::ALL));
    }

    #[test]
    fn units_split_buffers_at_unit_ends() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 256) as u8).collect();
        for buffer in [1, 3, 10, 99, 100, 101, 1000] {
            let mut slices = Units::<Md5>::new(100, Share::ALL);
            let mut offset = 0;
            for part in data.chunks(buffer) {
                slices.consume(offset, part);
                offset += part.len() as u64;
            }
            let expected: Vec<(u64, String)> = (0..).zip(data.chunks(100).map(md5_hex)).collect();
            assert_eq!(slices.finish(), expected, "buffers of {buffer}");
        }
    }

    #[test]
    fn shared_blocks_add_up_to_the_etag() {
        let block = ETAG_BLOCK_SIZE as usize;
        let data: Vec<u8> = (0..(3 * block + 5)).map(|i| (i % 253) as u8).collect();
        let mut lanes = [
            Lane::new(LaneJobs {
                etag: Some(Share { every: 2, first: 0 }),
                ..LaneJobs::default()
            }),
            Lane::new(LaneJobs {
                etag: Some(Share { every: 2, first: 1 }),
                ..LaneJobs::default()
            }),
        ];
        let mut offset = 0;
        for part in data.chunks(1_000_000) {
            for lane in &mut lanes {
                lane.consume(offset, part);
            }
            offset += part.len() as u64;
        }
        let mut blocks: Vec<_> = lanes.into_iter().flat_map(|l| l.finish().blocks).collect();
        assert_eq!(blocks.len(), 4);
        assert_eq!(etag_from(&mut blocks), etag_of(&data));
        assert_eq!(etag_from(&mut []), etag_of(b""));
    }
}
