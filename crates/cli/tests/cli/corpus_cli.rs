//! The bad-input corpus through the real `pandrop-cli` binary against an in-process fakecloud: every bad file
//! gets its own failed line naming it and the rule, no request for it reaches the cloud, the good files
//! upload, the exit status is 1 (some file failed), and work already done stays done.
//!
//! When the tests run with the power to read past file modes (root), the binary runs as `nobody`, so a file
//! with mode 000 is really unreadable to it, as it is to an ordinary user.

use crate::common;

use serde_json::Value;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tempfile::TempDir;

const BIN: &str = env!("CARGO_BIN_EXE_pandrop-cli");
const MIB: usize = 1024 * 1024;
/// 10 GB, the 123pan per-file ceiling.
const TEN_GB: u64 = 10 * 1024 * 1024 * 1024;
/// The longest any one run of the binary may take; a hang fails the test.
const BOUND: Duration = Duration::from_secs(120);
/// The unprivileged account the binary runs as when the tests run as root.
const NOBODY: u32 = 65534;

struct Env {
    cloud: pandrop_fakecloud::RunningCloud,
    dir: TempDir,
    /// Run the binary as [`NOBODY`]: this process reads past file modes.
    drop_privileges: bool,
}

async fn env() -> Env {
    let dir = TempDir::new().expect("tempdir");
    let cloud = common::fake_cloud(dir.path()).await;
    // The binary may run as another user: it must reach the test folder.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let probe = dir.path().join("probe");
    std::fs::write(&probe, b"x").expect("probe");
    std::fs::set_permissions(&probe, std::fs::Permissions::from_mode(0o000)).expect("chmod");
    let drop_privileges = std::fs::read(&probe).is_ok();
    std::fs::remove_file(&probe).expect("remove probe");
    Env {
        cloud,
        dir,
        drop_privileges,
    }
}

impl Env {
    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn file(&self, rel: &str, len: usize, seed: u8) -> PathBuf {
        common::write_pattern(self.path(rel), len, seed)
    }

    /// The binary with credentials for the test cloud, as an unprivileged user when needed.
    fn command(&self) -> tokio::process::Command {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret")
            .env("HOME", self.dir.path())
            .env("TMPDIR", std::env::temp_dir())
            .kill_on_drop(true);
        if self.drop_privileges {
            cmd.uid(NOBODY).gid(NOBODY);
        }
        cmd
    }

    async fn run(&self, cmd: &mut tokio::process::Command) -> Output {
        match tokio::time::timeout(BOUND, cmd.output()).await {
            Ok(out) => out.expect("run pandrop-cli"),
            Err(_) => panic!("pandrop-cli did not finish within {BOUND:?}"),
        }
    }

    async fn upload(&self, args: &[&OsStr]) -> Output {
        let mut cmd = self.command();
        cmd.arg("upload")
            .args(["--endpoint", &self.cloud.pan123_url()])
            .arg("--data-dir")
            .arg(self.data_dir("upload-data"))
            .args(args);
        self.run(&mut cmd).await
    }

    fn queue_command(&self, data: &Path, args: &[&str]) -> tokio::process::Command {
        let mut cmd = self.command();
        cmd.arg("queue").arg("--data-dir").arg(data).args(args);
        cmd
    }

    async fn queue(&self, data: &Path, args: &[&str]) -> Output {
        self.run(&mut self.queue_command(data, args)).await
    }

    async fn add(&self, data: &Path, to: &str, files: &[&Path]) -> Output {
        let endpoint = self.cloud.pan123_url();
        let mut cmd = self.queue_command(data, &["add", "--endpoint", &endpoint, "--to", to]);
        cmd.args(files);
        self.run(&mut cmd).await
    }

    /// A data folder the binary can write to.
    fn data_dir(&self, name: &str) -> PathBuf {
        let data = self.path(name);
        std::fs::create_dir_all(&data).expect("mkdir");
        std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod");
        data
    }

    async fn admin(&self, what: &str) -> Value {
        let url = format!("{}/_admin/{what}", self.cloud.base_url());
        reqwest::get(url).await.expect("admin").json().await.expect("json")
    }

    async fn requests(&self, route: &str) -> u64 {
        self.admin("stats").await["routes"][route]["requests"].as_u64().unwrap_or(0)
    }

    async fn stored_paths(&self) -> Vec<String> {
        let files = self.admin("files").await;
        files
            .as_array()
            .expect("array")
            .iter()
            .filter_map(|f| f["path"].as_str().map(str::to_owned))
            .collect()
    }
}

fn json_lines(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// What a corpus entry is on disk.
enum Make {
    /// A regular file of this many bytes.
    Bytes(usize),
    /// A sparse file of this many bytes (no disk blocks).
    Sparse(u64),
    /// A named pipe.
    Fifo,
    /// A symbolic link to this target.
    Link(&'static str),
    /// A regular file of this many bytes with mode 000.
    Locked(usize),
}

/// One corpus entry: its name inside the folder (raw bytes, so names that are not UTF-8 fit), what it is,
/// and `None` when it must upload, or the words its failure must hold.
type Case = (&'static [u8], Make, Option<&'static str>);

/// The corpus. Adding a case is one line.
const CASES: &[Case] = &[
    (b"good.bin", Make::Bytes(3000), None),
    (b"good-big.bin", Make::Bytes(2 * MIB + 5), None),
    // 85 CJK characters are 255 bytes, the most one local name holds: fine for 123pan (255 characters).
    ("文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文文".as_bytes(), Make::Bytes(10), None),
    (b"  leading spaces.txt", Make::Bytes(11), None),
    (b"trailing spaces.txt  ", Make::Bytes(12), None),
    (b"trailing dot.", Make::Bytes(13), None),
    (b"a\"quote.txt", Make::Bytes(1), Some("forbids")),
    (b"a\\backslash.txt", Make::Bytes(1), Some("forbids")),
    (b"a:colon.txt", Make::Bytes(1), Some("forbids")),
    (b"a*star.txt", Make::Bytes(1), Some("forbids")),
    (b"a?question.txt", Make::Bytes(1), Some("forbids")),
    (b"a|pipe.txt", Make::Bytes(1), Some("forbids")),
    (b"a>greater.txt", Make::Bytes(1), Some("forbids")),
    (b"a<less.txt", Make::Bytes(1), Some("forbids")),
    (b"   ", Make::Bytes(1), Some("only of spaces")),
    (b"latin1-\xe9.txt", Make::Bytes(1), Some("not valid UTF-8")),
    (b"empty.bin", Make::Bytes(0), Some("empty (0 bytes)")),
    (b"huge.bin", Make::Sparse(TEN_GB + 1), Some("at most 10 GB")),
    (b"pipe", Make::Fifo, Some("a named pipe (FIFO)")),
    (b"null", Make::Link("/dev/null"), Some("a character device")),
    (b"locked.bin", Make::Locked(100), Some("Permission denied")),
    (b"loop-up", Make::Link(".."), Some("link to a folder")),
    (b"loop-self", Make::Link("loop-self"), Some("symbolic links")),
];

fn make(path: &Path, what: &Make) {
    match what {
        Make::Bytes(len) => {
            let seed = path.as_os_str().len() as u8;
            std::fs::write(path, (0..*len).map(|i| (i % 251) as u8 ^ seed).collect::<Vec<u8>>()).expect("write");
        }
        Make::Sparse(len) => std::fs::File::create(path).and_then(|f| f.set_len(*len)).expect("sparse"),
        Make::Fifo => assert!(std::process::Command::new("mkfifo").arg(path).status().expect("mkfifo").success()),
        Make::Link(to) => std::os::unix::fs::symlink(to, path).expect("symlink"),
        Make::Locked(len) => {
            make(path, &Make::Bytes(*len));
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o000)).expect("chmod");
        }
    }
}

#[tokio::test]
async fn every_bad_file_fails_alone_naming_it_and_the_rule_while_the_good_ones_upload() {
    let env = env().await;
    let folder = env.path("corpus");
    std::fs::create_dir(&folder).expect("mkdir");
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    for (name, what, _) in CASES {
        make(&folder.join(OsStr::from_bytes(name)), what);
    }

    let out = env
        .upload(
            &["--to", "/corpus", "--json", "--jobs", "2"]
                .map(OsStr::new)
                .iter()
                .copied()
                .chain([folder.as_os_str()])
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(out.status.code(), Some(1), "some files failed: {}", text(&out));
    let lines = json_lines(&out);
    for (name, _, expect) in CASES {
        let shown = String::from_utf8_lossy(name).into_owned();
        let line = lines
            .iter()
            .find(|l| {
                l["file"]
                    .as_str()
                    .is_some_and(|f| Path::new(f).file_name() == Some(OsStr::new(&shown)))
            })
            .unwrap_or_else(|| panic!("no line for {shown:?}: {}", text(&out)));
        match expect {
            None => {
                assert_eq!(line["status"], "uploaded", "{shown:?}: {line}");
            }
            Some(rule) => {
                assert_eq!(line["status"], "failed", "{shown:?}: {line}");
                let error = line["error"].as_str().expect("error");
                assert!(error.contains(&shown), "{shown:?}: the error must name the file: {error}");
                assert!(error.contains(rule), "{shown:?}: the error must say {rule:?}: {error}");
            }
        }
    }
    assert_eq!(lines.len(), CASES.len(), "one line per file: {}", text(&out));
    // Only the good files reached the cloud: one upload request each, and they are stored by their names.
    let good: Vec<String> = CASES
        .iter()
        .filter(|c| c.2.is_none())
        .map(|c| format!("/corpus/corpus/{}", String::from_utf8_lossy(c.0)))
        .collect();
    let starts = env.requests("123pan/create").await + env.requests("123pan/single_create").await;
    assert_eq!(starts, good.len() as u64, "an upload began for a bad file");
    let mut stored = env.stored_paths().await;
    stored.sort();
    let mut want = good.clone();
    want.sort();
    assert_eq!(stored, want);
}

#[tokio::test]
async fn remote_names_are_counted_in_characters_and_limits_are_refused_up_front() {
    let env = env().await;
    let file = env.file("f.bin", 100, 1);
    // 255 CJK characters (765 bytes) as a remote folder name pass; 256 do not, and nothing is sent.
    let ok_dir = format!("/{}", "夹".repeat(255));
    let out = env
        .upload(&["--json", "--to", &ok_dir, file.to_str().expect("utf-8")].map(OsStr::new))
        .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let before = env.requests("123pan/single_create").await + env.requests("123pan/create").await;
    let bad_dir = format!("/{}", "夹".repeat(256));
    let out = env
        .upload(&["--json", "--to", &bad_dir, file.to_str().expect("utf-8")].map(OsStr::new))
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let error = json_lines(&out)[0]["error"].as_str().expect("error").to_owned();
    assert!(error.contains("f.bin") && error.contains("256 characters"), "{error}");
    assert_eq!(
        env.requests("123pan/single_create").await + env.requests("123pan/create").await,
        before
    );
    // The single-step upload takes at most 1 GB: a larger threshold is a usage error (exit 2).
    let out = env
        .upload(&["--single-step-max", "1073741825", "--to", "/x", file.to_str().expect("utf-8")].map(OsStr::new))
        .await;
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 GB"), "{}", text(&out));
}

#[tokio::test]
async fn a_file_deleted_before_its_turn_fails_alone_and_done_work_stays_done() {
    let env = env().await;
    let data = env.data_dir("data");
    let earlier = env.file("earlier.bin", 5000, 1);
    assert_eq!(env.add(&data, "/turn", &[&earlier]).await.status.code(), Some(0));
    let out = env.queue(&data, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));

    let kept = env.file("kept.bin", 6000, 2);
    let gone = env.file("gone.bin", 7000, 3);
    let out = env.add(&data, "/turn", &[&kept, &gone]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    std::fs::remove_file(&gone).expect("delete");
    let out = env.queue(&data, &["run", "--json"]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let lines = json_lines(&out);
    let failed = lines.iter().find(|l| l["status"] == "failed").expect("a failed line");
    let error = failed["error"].as_str().expect("error");
    assert!(error.contains("gone.bin") && error.contains("No such file"), "{error}");
    let out = env.queue(&data, &["list", "--json"]).await;
    let states: Vec<(String, String)> = json_lines(&out)
        .iter()
        .map(|t| {
            (
                t["remote_path"].as_str().expect("path").to_owned(),
                t["state"].as_str().expect("state").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("/turn/earlier.bin", "done"),
            ("/turn/kept.bin", "done"),
            ("/turn/gone.bin", "failed")
        ]
        .map(|(p, s)| (p.to_owned(), s.to_owned()))
    );
}

#[tokio::test]
async fn a_file_that_changes_while_uploaded_fails_and_is_not_completed() {
    for grow in [true, false] {
        let env = env().await;
        let path = env.file("moving.bin", 3 * MIB, 4);
        // 1 MiB/s: the one 3 MiB slice takes about three seconds, time to change the file under it.
        let mut cmd = env.command();
        cmd.arg("upload")
            .args([
                "--endpoint",
                &env.cloud.pan123_url(),
                "--json",
                "--single-step-max",
                "0",
                "--limit-rate",
                "1048576",
            ])
            .arg("--data-dir")
            .arg(env.data_dir("upload-data"))
            .args(["--to", "/moving"])
            .arg(&path)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let child = cmd.spawn().expect("spawn");
        let deadline = tokio::time::Instant::now() + BOUND;
        while env.requests("123pan/slice").await == 0 {
            assert!(tokio::time::Instant::now() < deadline, "no slice was ever sent");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let file = std::fs::OpenOptions::new().append(true).open(&path).expect("open");
        if grow {
            use std::io::Write;
            (&file).write_all(&[1u8; MIB]).expect("append");
        } else {
            file.set_len(MIB as u64).expect("truncate");
        }
        let out = tokio::time::timeout(BOUND, child.wait_with_output())
            .await
            .expect("bounded")
            .expect("run");
        assert_eq!(out.status.code(), Some(1), "grow {grow}: {}", text(&out));
        let line = &json_lines(&out)[0];
        let error = line["error"].as_str().expect("error");
        assert!(
            error.contains("moving.bin") && error.contains("changed while it was being uploaded"),
            "grow {grow}: {error}"
        );
        assert_eq!(
            env.requests("123pan/upload_complete").await,
            0,
            "grow {grow}: a stale copy was completed"
        );
        assert!(env.stored_paths().await.is_empty(), "grow {grow}");
    }
}

#[tokio::test]
async fn a_second_queue_run_on_one_data_dir_is_refused_and_the_first_sends_each_file_once() {
    let env = env().await;
    let data = env.data_dir("data");
    let files: Vec<PathBuf> = (0..3).map(|i| env.file(&format!("two/{i}.bin"), 2 * MIB, i as u8)).collect();
    let refs: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    assert_eq!(env.add(&data, "/two", &refs).await.status.code(), Some(0));
    // Slow slices keep the first run busy while the second starts.
    let rules = serde_json::json!([{"route": "123pan/slice", "times": 100, "action": {"kind": "latency", "ms": 700}}]);
    let resp = reqwest::Client::new()
        .post(format!("{}/_admin/faults", env.cloud.base_url()))
        .json(&rules)
        .send()
        .await
        .expect("faults");
    assert!(resp.status().is_success());
    let mut first = env.queue_command(&data, &["run", "--json", "--jobs", "1"]);
    first.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let first = first.spawn().expect("spawn");
    let deadline = tokio::time::Instant::now() + BOUND;
    while env.requests("123pan/create").await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the first run never began");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = env.queue(&data, &["run"]).await;
    assert_eq!(
        second.status.code(),
        Some(1),
        "{} / stats {}",
        text(&second),
        env.admin("stats").await
    );
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(said.contains("queue.db") && said.contains("another process"), "{said}");
    let first = tokio::time::timeout(BOUND, first.wait_with_output())
        .await
        .expect("bounded")
        .expect("run");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    assert_eq!(json_lines(&first).len(), 3);
    assert_eq!(env.requests("123pan/create").await, 3, "each file began once");
}

/// A queue with one finished task and two waiting, in a fresh data folder.
async fn one_done_two_waiting(env: &Env) -> PathBuf {
    let data = env.data_dir("data");
    let done = env.file("done.bin", 4000, 1);
    assert_eq!(env.add(&data, "/d", &[&done]).await.status.code(), Some(0));
    assert_eq!(env.queue(&data, &["run"]).await.status.code(), Some(0));
    let waiting = [env.file("w1.bin", 4001, 2), env.file("w2.bin", 4002, 3)];
    let out = env.add(&data, "/d", &[&waiting[0], &waiting[1]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    data
}

async fn states(env: &Env, data: &Path) -> Vec<String> {
    let out = env.queue(data, &["list", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    json_lines(&out)
        .iter()
        .map(|t| t["state"].as_str().expect("state").to_owned())
        .collect()
}

#[tokio::test]
async fn a_full_data_dir_stops_the_run_with_a_store_error_and_keeps_what_was_done() {
    let env = env().await;
    let data = one_done_two_waiting(&env).await;
    // A full disk, simulated with RLIMIT_FSIZE (`ulimit -f`, 512-byte blocks): writes past 39 KiB fail with
    // EFBIG, as the store's write-ahead log grows during the run. SIGXFSZ is ignored so the write fails
    // instead of killing the process.
    let run = env.queue_command(&data, &["run"]);
    let mut cmd = tokio::process::Command::new("sh");
    cmd.arg("-c")
        .arg("trap '' XFSZ; ulimit -f 78; exec \"$0\" \"$@\"")
        .arg(run.as_std().get_program())
        .args(run.as_std().get_args())
        .envs(run.as_std().get_envs().filter_map(|(k, v)| v.map(|v| (k.to_owned(), v.to_owned()))))
        .kill_on_drop(true);
    if env.drop_privileges {
        cmd.uid(NOBODY).gid(NOBODY);
    }
    let out = env.run(&mut cmd).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("queue.db") && said.contains("stopped taking writes"), "{said}");
    // Nothing done is lost; with room again, the rest finishes.
    assert_eq!(states(&env, &data).await[0], "done");
    let out = env.queue(&data, &["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(states(&env, &data).await, ["done", "done", "done"]);
}

#[tokio::test]
async fn a_read_only_data_dir_is_refused_naming_the_store_and_left_untouched() {
    let env = env().await;
    let data = one_done_two_waiting(&env).await;
    let db = data.join("queue.db");
    let before = std::fs::read(&db).expect("read");
    // Read-only to the binary: mode 555 stops an ordinary user; as root the binary runs as nobody, who does not
    // own the folder.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    let extra = env.file("extra.bin", 10, 9);
    for out in [env.add(&data, "/d", &[&extra]).await, env.queue(&data, &["run"]).await] {
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains(&db.display().to_string()) && said.contains("readonly"), "{said}");
    }
    assert_eq!(std::fs::read(&db).expect("read"), before, "the store was changed");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    assert_eq!(states(&env, &data).await, ["done", "queued", "queued"]);
}

#[tokio::test]
async fn a_corrupted_store_is_refused_naming_it_and_left_as_it_is() {
    let env = env().await;
    let data = env.data_dir("data");
    let db = data.join("queue.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 % 256) as u8).collect();
    std::fs::write(&db, &garbage).expect("write");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o666)).expect("chmod");
    for args in [&["list"][..], &["run"][..]] {
        let out = env.queue(&data, args).await;
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(
            said.contains(&db.display().to_string()) && said.contains("not a database"),
            "{said}"
        );
    }
    assert_eq!(
        std::fs::read(&db).expect("read"),
        garbage,
        "a corrupted store must not be overwritten"
    );
}
