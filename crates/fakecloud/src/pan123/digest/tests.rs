//! Unit tests of the running digest and its worker.

use bytes::Bytes;

use super::*;
use crate::hashing::md5_hex_of;
use crate::pan123::session_file::SliceWriter;
use crate::pan123::sessions::{Session, SliceBody};
use crate::pan123::tree::Duplicate;

const SLICE: u64 = 7;

/// 67 bytes in 10 slices of 7 (the last one of 4), in a session file under a temp dir.
struct Fixture {
    _dir: tempfile::TempDir,
    file: SessionFile,
    data: Vec<u8>,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..67u8).map(|b| b.wrapping_mul(31)).collect();
        let session = Session {
            id: "s".to_owned(),
            parent_id: 0,
            name: "f".to_owned(),
            md5: md5_hex_of(&data),
            size: data.len() as u64,
            slice_size: SLICE,
            policy: Duplicate::Reject,
            file_id: None,
        };
        let file = SessionFile {
            path: dir.path().join("s"),
            session,
        };
        Self { _dir: dir, file, data }
    }

    fn bytes(&self, no: u32, fill: Option<u8>) -> SliceBytes {
        let start = self.file.session.slice_offset(no) as usize;
        let end = start + self.file.session.slice_len(no) as usize;
        let mut bytes = SliceBytes::default();
        for chunk in self.data[start..end].chunks(3) {
            let chunk = fill.map_or_else(|| chunk.to_vec(), |b| vec![b; chunk.len()]);
            bytes.push(Bytes::from(chunk));
        }
        bytes
    }

    /// Writes slice `no` (its own bytes, or `fill` repeated) and returns what the worker is sent.
    fn store(&self, no: u32, fill: Option<u8>, in_memory: bool, replaced: bool) -> Stored {
        SliceWriter::default()
            .write(&self.file, no, &SliceBody::Memory(self.bytes(no, fill)))
            .unwrap();
        Stored {
            no,
            bytes: in_memory.then(|| self.bytes(no, fill)),
            replaced,
        }
    }

    fn finish(&self, digester: Digester) -> String {
        let mut digest = digester.finish().expect("the worker should not fail");
        assert!(digest.covers(&self.file));
        // Nothing left to catch up with when every slice was sent.
        digest.catch_up(&self.file, &BTreeMap::new()).unwrap();
        digest.finish_hex().unwrap()
    }
}

#[test]
fn slices_in_any_order_from_memory_or_from_the_file() {
    let f = Fixture::new();
    // Room for two slices ahead of the run: the others are read back from the file.
    let digester = Digester::spawn_with(f.file.clone(), None, BTreeSet::new(), 2 * SLICE, IDLE).unwrap();
    for (no, in_memory) in [(5, true), (3, true), (2, true), (10, true), (1, false), (4, true)] {
        assert!(digester.send(f.store(no, None, in_memory, false)).is_ok());
    }
    for no in 6..=9 {
        assert!(digester.send(f.store(no, None, no % 2 == 0, false)).is_ok());
    }
    assert_eq!(f.finish(digester), md5_hex_of(&f.data));
}

#[test]
fn a_changed_slice_inside_the_run_restarts_it() {
    let f = Fixture::new();
    let digester = Digester::spawn(f.file.clone(), None, BTreeSet::new()).unwrap();
    assert!(digester.send(f.store(2, Some(0xaa), true, false)).is_ok());
    assert!(digester.send(f.store(1, None, true, false)).is_ok());
    assert!(digester.send(f.store(3, None, true, false)).is_ok());
    // Slice 2 is inside the hashed run when its right bytes come.
    assert!(digester.send(f.store(2, None, true, true)).is_ok());
    // A slice ahead of the run replaced while kept in memory: the later copy is used.
    assert!(digester.send(f.store(6, Some(0xbb), true, false)).is_ok());
    assert!(digester.send(f.store(6, None, true, true)).is_ok());
    for no in [4, 5, 7, 8, 9, 10] {
        assert!(digester.send(f.store(no, None, true, false)).is_ok());
    }
    assert_eq!(f.finish(digester), md5_hex_of(&f.data));
}

#[test]
fn a_worker_starts_from_the_slices_in_the_file() {
    let f = Fixture::new();
    for no in 1..=6 {
        f.store(no, None, false, false);
    }
    let digester = Digester::spawn(f.file.clone(), None, (1..=6).collect()).unwrap();
    for no in 7..=10 {
        assert!(digester.send(f.store(no, None, true, false)).is_ok());
    }
    assert_eq!(f.finish(digester), md5_hex_of(&f.data));
}

#[test]
fn completion_catches_up_with_what_the_worker_missed() {
    let f = Fixture::new();
    let digester = Digester::spawn(f.file.clone(), None, BTreeSet::new()).unwrap();
    assert!(digester.send(f.store(1, None, true, false)).is_ok());
    let mut digest = digester.finish().unwrap();
    let mut stored = BTreeMap::new();
    for no in 1..=10 {
        f.store(no, None, false, false);
        stored.insert(no, String::new());
    }
    digest.catch_up(&f.file, &stored).unwrap();
    assert!(digest.covers(&f.file));
    assert_eq!(digest.finish_hex().unwrap(), md5_hex_of(&f.data));
}

#[test]
fn a_missing_file_fails_the_worker_and_dropping_stops_it() {
    let f = Fixture::new();
    // Slice 1 is said to be stored, but there is no file to read it from.
    let digester = Digester::spawn(f.file.clone(), None, BTreeSet::from([1])).unwrap();
    assert!(digester.finish().is_none());
    let digester = Digester::spawn(f.file.clone(), None, BTreeSet::new()).unwrap();
    drop(digester);
}

/// Sends slices `order` the way `uploads::feed` does: a worker that has ended is replaced by one going on
/// from the digest it hands back. `pause` waits, before some slices, until the worker has ended. Returns
/// the final digest and how many workers ended.
fn send_through_ending_workers(f: &Fixture, order: &[u32], idle: Duration, pause: bool) -> (String, u32) {
    let spawn = |digest, stored: &BTreeSet<u32>| Digester::spawn_with(f.file.clone(), digest, stored.clone(), AHEAD_BUDGET, idle).unwrap();
    let mut stored = BTreeSet::new();
    let mut digester = spawn(None, &stored);
    let mut ended = 0;
    for (i, &no) in order.iter().enumerate() {
        if pause && i % 3 == 0 {
            let thread = digester.thread.as_ref().unwrap();
            let started = std::time::Instant::now();
            while !thread.is_finished() {
                assert!(started.elapsed() < Duration::from_secs(30), "the idle worker should end");
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let mut slice = f.store(no, None, true, false);
        while let Err(back) = digester.send(slice) {
            ended += 1;
            let digest = digester.finish().expect("a worker that ran out of slices hands its digest back");
            digester = spawn(Some(digest), &stored);
            slice = back;
        }
        stored.insert(no);
    }
    (f.finish(digester), ended)
}

#[test]
fn a_worker_out_of_slices_ends_and_the_next_goes_on_from_its_digest() {
    let f = Fixture::new();
    let order = [3, 1, 2, 5, 4, 6, 7, 8, 10, 9];
    let (md5, ended) = send_through_ending_workers(&f, &order, Duration::from_millis(1), true);
    assert_eq!(md5, md5_hex_of(&f.data));
    assert!(ended >= 3, "{ended}");
    // Workers that give up at once race every send: still no slice may be lost.
    for _ in 0..20 {
        let (md5, _) = send_through_ending_workers(&f, &order, Duration::ZERO, false);
        assert_eq!(md5, md5_hex_of(&f.data));
    }
}
