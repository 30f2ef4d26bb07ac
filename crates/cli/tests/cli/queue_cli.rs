//! `pandrop-cli queue` end to end: real processes, a store in a temporary folder, an in-process fakecloud.

use crate::common::{BIN, Env, MIB, env, json_lines, md5_hex};

use serde_json::Value;
use std::process::Output;
use tempfile::TempDir;

impl Env {
    async fn queue(&self, args: &[&str]) -> Output {
        let mut cmd = tokio::process::Command::new(BIN);
        cmd.arg("queue")
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args(args)
            .env("PANDROP_CLIENT_ID", "demo")
            .env("PANDROP_CLIENT_SECRET", "demo-secret");
        cmd.output().await.expect("run pandrop-cli")
    }

    async fn add(&self, args: &[&str]) -> Output {
        let endpoint = self.cloud.pan123_url();
        let mut all = vec!["add", "--provider", "123pan", "--endpoint", &endpoint];
        all.extend_from_slice(args);
        self.queue(&all).await
    }

    async fn list(&self) -> Vec<Value> {
        let out = self.queue(&["list", "--json"]).await;
        assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
        json_lines(&out)
    }
}

fn ids(tasks: &[Value]) -> Vec<i64> {
    tasks.iter().map(|t| t["id"].as_i64().expect("id")).collect()
}

fn state_of(tasks: &[Value], id: i64) -> String {
    let task = tasks.iter().find(|t| t["id"] == id).expect("task listed");
    task["state"].as_str().expect("state").to_owned()
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

#[tokio::test]
async fn add_reorder_pause_run_resume_clear() {
    let env = env().await;
    let a = env.file("a.bin", 3 * MIB, 1);
    let b = env.file("b.bin", 2 * MIB, 2);
    let c = env.file("folder/sub/c.bin", MIB + 7, 3);
    let d = env.file("folder/d.bin", 100, 4);
    let folder = env.dir.path().join("folder");
    let paths = [a.to_str(), b.to_str(), folder.to_str()].map(|p| p.expect("utf-8"));

    let out = env.add(&["--to", "/q", paths[0], paths[1], paths[2]]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let tasks = env.list().await;
    assert_eq!(tasks.len(), 4);
    let remote: Vec<&str> = tasks.iter().map(|t| t["remote_path"].as_str().expect("path")).collect();
    assert_eq!(remote, ["/q/a.bin", "/q/b.bin", "/q/folder/d.bin", "/q/folder/sub/c.bin"]);
    assert!(tasks.iter().all(|t| t["state"] == "queued"), "{tasks:?}");
    let order = ids(&tasks);

    // Move the last one to the top.
    let last = order[3].to_string();
    let out = env.queue(&["move", &last, "--top"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let moved = ids(&env.list().await);
    assert_eq!(moved, [order[3], order[0], order[1], order[2]]);

    // Pause b.
    let b_id = order[1];
    let out = env.queue(&["pause", &b_id.to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(state_of(&env.list().await, b_id), "paused");

    // Run: everything but b finishes; b stays paused.
    let out = env.queue(&["run", "--json"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lines = json_lines(&out);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(lines.iter().all(|l| l["status"] == "uploaded" && l["error"].is_null()), "{lines:?}");
    let tasks = env.list().await;
    assert_eq!(state_of(&tasks, b_id), "paused");
    for id in [order[0], order[2], order[3]] {
        assert_eq!(state_of(&tasks, id), "done");
    }
    let files = env.admin("files").await;
    let md5_at = |path: &str| {
        files
            .as_array()
            .expect("array")
            .iter()
            .find(|f| f["path"] == path)
            .map(|f| f["md5"].as_str().expect("md5").to_owned())
    };
    assert_eq!(md5_at("/q/a.bin"), Some(md5_hex(&a)));
    assert_eq!(md5_at("/q/folder/sub/c.bin"), Some(md5_hex(&c)));
    assert_eq!(md5_at("/q/folder/d.bin"), Some(md5_hex(&d)));
    assert_eq!(md5_at("/q/b.bin"), None);

    // Resume b and run again.
    let out = env.queue(&["resume", &b_id.to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(state_of(&env.list().await, b_id), "queued");
    let out = env.queue(&["run"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("b.bin"), "{}", text(&out));
    assert_eq!(state_of(&env.list().await, b_id), "done");
    let files = env.admin("files").await;
    let b_md5 = files
        .as_array()
        .expect("array")
        .iter()
        .find(|f| f["path"] == "/q/b.bin")
        .map(|f| f["md5"].clone());
    assert_eq!(b_md5, Some(Value::from(md5_hex(&b))));

    // Clear removes the finished tasks.
    let out = env.queue(&["clear"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(env.list().await.is_empty());
}

#[tokio::test]
async fn a_missing_path_is_reported_and_skipped() {
    let env = env().await;
    let a = env.file("a.bin", 1000, 1);
    let missing = env.dir.path().join("nope.bin");
    let out = env
        .add(&["--to", "/m", a.to_str().expect("utf-8"), missing.to_str().expect("utf-8")])
        .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.bin"), "{}", text(&out));
    let tasks = env.list().await;
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["remote_path"], "/m/a.bin");
}

#[tokio::test]
async fn state_changes_refuse_what_does_not_apply() {
    let env = env().await;
    let a = env.file("a.bin", 1000, 1);
    let out = env.add(&["--to", "/s", a.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let id = ids(&env.list().await)[0].to_string();

    // Resuming a queued task changes nothing; retrying one that has not failed is refused; unknown ids are
    // reported.
    let out = env.queue(&["resume", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let out = env.queue(&["retry", &id]).await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let out = env.queue(&["pause", "999"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("999"));

    // Cancel, then retry puts it back.
    let out = env.queue(&["cancel", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.list().await[0]["state"], "cancelled");
    let out = env.queue(&["retry", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.list().await[0]["state"], "queued");

    // pause --all / resume --all, then remove.
    let out = env.queue(&["pause", "--all"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.list().await[0]["state"], "paused");
    let out = env.queue(&["resume", "--all"]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(env.list().await[0]["state"], "queued");
    let out = env.queue(&["remove", &id]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(env.list().await.is_empty());
}

/// `queue pause|resume|cancel|retry|remove` follow the engine's lifecycle table, for every state: the command
/// changes exactly what the table says, leaves the task alone where the table refuses or has nothing to do,
/// and (with a run working the folder) leaves the tasks that run is transferring to it.
#[tokio::test]
async fn state_changes_follow_the_engine_lifecycle_for_every_state() {
    use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
    use pandrop_engine::store::lifecycle::{Decision, decide};
    use pandrop_engine::store::{NewTask, Profile, ProviderKind, RunLock, Store, TaskAction, TaskState};

    let dir = TempDir::new().expect("tempdir");
    for state in TaskState::ALL {
        for action in [
            TaskAction::Pause,
            TaskAction::Resume,
            TaskAction::Cancel,
            TaskAction::Retry,
            TaskAction::Remove,
        ] {
            let data = dir.path().join(format!("{state}-{action}"));
            let db = data.join("queue.db");
            let store = Store::open(&db).expect("store");
            store
                .upsert_profile(&Profile {
                    id: "p".into(),
                    provider: ProviderKind::PAN123,
                    name: "p".into(),
                    endpoint: "sandbox".into(),
                    default_dir: "/".into(),
                    settings: serde_json::json!({}),
                })
                .expect("profile");
            let new = NewTask {
                profile_id: "p".into(),
                local_path: dir.path().join("f.bin"),
                target: RemoteTarget {
                    dir: "/".into(),
                    name: "f.bin".into(),
                },
                duplicate: DuplicatePolicy::Fail,
                size: 10,
                after: None,
            };
            let id = store.add_tasks(&[new]).expect("add")[0];
            match state {
                TaskState::Queued => {}
                TaskState::Done | TaskState::Instant => drop(store.finish(id, state, "r").expect("finish")),
                other => drop(store.set_state(id, other, None).expect("set")),
            }
            // An active state in the store means a run is on the task: hold that run's lock meanwhile.
            let runner = state.is_active().then(|| RunLock::acquire(&db).expect("lock"));

            let mut cmd = tokio::process::Command::new(BIN);
            cmd.arg("queue")
                .arg("--data-dir")
                .arg(&data)
                .arg(action.as_str())
                .arg(id.to_string());
            let out = cmd.output().await.expect("run pandrop-cli");
            drop(runner);
            let after = store.task(id).expect("read");
            let case = format!("{action} on {state}: {}", text(&out));
            match decide(state, action) {
                Ok(Decision::Become(to)) => {
                    assert_eq!(out.status.code(), Some(0), "{case}");
                    assert_eq!(after.map(|t| t.state), Some(to), "{case}");
                }
                Ok(Decision::Delete) => {
                    assert_eq!(out.status.code(), Some(0), "{case}");
                    assert!(after.is_none(), "{case}");
                }
                Ok(Decision::AlreadyThere) => {
                    assert_eq!(out.status.code(), Some(0), "{case}");
                    assert_eq!(after.map(|t| t.state), Some(state), "{case}");
                }
                Ok(Decision::StopWorker(_)) => {
                    assert_eq!(out.status.code(), Some(1), "{case}");
                    assert!(text(&out).contains("stop that run first"), "{case}");
                    assert_eq!(after.map(|t| t.state), Some(state), "{case}");
                }
                Ok(Decision::Reorder) => unreachable!("not a state change"),
                Err(why) => {
                    assert_eq!(out.status.code(), Some(1), "{case}");
                    assert!(text(&out).contains(&why.to_string()), "{case}");
                    assert_eq!(after.map(|t| t.state), Some(state), "{case}");
                }
            }
        }
    }
}

/// A task retried by hand after it used up its automatic attempts starts again with the whole budget.
#[tokio::test]
async fn retry_by_hand_resets_the_attempt_count() {
    use pandrop_engine::store::{Store, TaskState};
    let env = env().await;
    let a = env.file("a.bin", 1000, 1);
    let out = env.add(&["--to", "/s", a.to_str().expect("utf-8")]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let id = ids(&env.list().await)[0];
    let store = Store::open(&env.dir.path().join("data/queue.db")).expect("store");
    let task = pandrop_engine::store::TaskId(id);
    for _ in 0..5 {
        store.bump_attempts(task).expect("bump");
    }
    store.set_state(task, TaskState::Failed, None).expect("fail");
    let out = env.queue(&["retry", &id.to_string()]).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let after = store.task(task).expect("read").expect("there");
    assert_eq!((after.state, after.attempts), (TaskState::Queued, 0));
}
