//! The upload queue's durable state machine: a sequence of store operations (add, state changes, progress,
//! finish, attempts, reorder, remove, clear, retry, crash recovery, parts and resume state) on an in-memory
//! `Store`, checked after every step against a plain model of what each operation documents.
//!
//! Asserts, besides "never panics":
//! - the queue order is exactly the model's: a permutation of the live tasks, moved as `Top` / `Up` /
//!   `Down` / `Bottom` / `move_before` say;
//! - ids are never reused, even after a task is removed;
//! - `Done` and `Instant` are reached only through `finish` and left only by removal: `set_state` refuses
//!   to go to or from them and `set_progress` to change them, finishing again changes nothing and writes no
//!   second history row, a finished task holds its remote id and all its bytes, and the bulk transitions
//!   (retry of failed tasks, recovery after a crash, clearing finished tasks) touch exactly the states they
//!   name;
//! - every refused operation (unknown task, unknown profile, wrong target state, a resume state holding a
//!   credential) is an `InvalidInput` error and changes nothing;
//! - parts and resume state follow their task: kept by recovery and retries, dropped by `finish`, `remove`
//!   and a resume state of another session.

#![no_main]

use libfuzzer_sys::arbitrary::{self, Arbitrary};
use libfuzzer_sys::fuzz_target;
use pandrop_engine::ErrorCode;
use pandrop_engine::provider::{DuplicatePolicy, RemoteTarget};
use pandrop_engine::store::{MoveTo, NewTask, Profile, ProviderKind, Store, TaskError, TaskId, TaskState};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Operations per run, and live tasks at most: enough to reach every transition, few enough to stay fast.
const MAX_OPS: usize = 48;
const MAX_TASKS: usize = 16;
const PROFILE: &str = "p1";

#[derive(Debug, Arbitrary)]
enum Op {
    Add { count: u8, size: u16 },
    AddForUnknownProfile,
    SetState { task: u8, state: u8, error: bool },
    Progress { task: u8, bytes: u32 },
    Finish { task: u8, state: u8 },
    BumpAttempts { task: u8 },
    Move { task: u8, to: u8 },
    MoveBefore { tasks: Vec<u8>, before: u8 },
    Remove { tasks: Vec<u8> },
    ClearFinished,
    RetryFailed,
    Recover,
    AckPart { task: u8, index: u8, receipt: Option<u8> },
    SaveResume { task: u8, state: u8, expires_at: Option<i32> },
    ClearResume { task: u8 },
    NextQueued { limit: u8 },
}

#[derive(Debug, Clone, PartialEq)]
struct ModelTask {
    size: u64,
    state: TaskState,
    bytes_done: u64,
    attempts: u32,
    error: Option<TaskError>,
    remote_id: Option<String>,
    parts: BTreeMap<u32, Option<String>>,
    resume: Option<(String, Value, Option<i64>)>,
}

#[derive(Default)]
struct Model {
    /// Live task ids in queue order.
    order: Vec<TaskId>,
    tasks: BTreeMap<TaskId, ModelTask>,
    /// Every id ever handed out.
    issued: Vec<TaskId>,
    history: usize,
}

impl Model {
    /// A live task for `sel`, or now and then an id the store does not hold (removed, or never issued).
    fn pick(&self, sel: u8) -> TaskId {
        let live = self.order.len();
        let slot = usize::from(sel) % (live + 2);
        if slot < live {
            self.order[slot]
        } else if slot == live && !self.issued.is_empty() {
            self.issued[usize::from(sel) % self.issued.len()]
        } else {
            TaskId(1_000_000 + i64::from(sel))
        }
    }

    fn live(&self, id: TaskId) -> Option<&ModelTask> {
        self.tasks.get(&id)
    }

    fn in_order(&self, test: impl Fn(&ModelTask) -> bool) -> Vec<TaskId> {
        self.order.iter().copied().filter(|id| test(&self.tasks[id])).collect()
    }

    fn remove(&mut self, id: TaskId) {
        self.tasks.remove(&id);
        self.order.retain(|t| *t != id);
    }
}

const STATES: [TaskState; 10] = TaskState::ALL;

/// The states only `finish` leads to, and nothing but removal leads out of.
fn is_final(state: TaskState) -> bool {
    matches!(state, TaskState::Done | TaskState::Instant)
}

fn new_task(name: usize, size: u64, profile: &str) -> NewTask {
    NewTask {
        profile_id: profile.to_owned(),
        local_path: format!("/data/f{name}.bin").into(),
        target: RemoteTarget {
            dir: "/up".into(),
            name: format!("f{name}.bin"),
        },
        duplicate: DuplicatePolicy::Fail,
        size,
        after: None,
    }
}

/// Resume states: two sessions of one provider, one of another, and two that hold a credential.
fn resume_state(sel: u8) -> (&'static str, Value) {
    match sel % 5 {
        0 => ("WCS", json!({"batch": "b1", "url": "http://h", "size": 1, "etag": "e"})),
        1 => ("WCS", json!({"batch": "b2", "url": "http://h", "size": 1, "etag": "e"})),
        2 => ("123pan", json!({"preuploadID": "p", "sliceSize": 16, "server": "http://s"})),
        3 => ("WCS", json!({"batch": "b1", "uploadToken": "ak:sign:policy"})),
        _ => ("123pan", json!({"nested": [{"accessToken": "t"}]})),
    }
}

fn refused<T: std::fmt::Debug>(result: pandrop_engine::Result<T>, what: &str) {
    match result {
        Err(err) => assert_eq!(err.code(), ErrorCode::InvalidInput, "{what}: {err}"),
        Ok(v) => panic!("{what} was accepted: {v:?}"),
    }
}

fn run(ops: &[Op]) {
    let store = Store::open_in_memory().expect("in-memory store");
    store
        .upsert_profile(&Profile {
            id: PROFILE.into(),
            provider: ProviderKind::PAN123,
            name: "fuzz".into(),
            endpoint: "sandbox".into(),
            default_dir: "/".into(),
            settings: json!({}),
        })
        .expect("profile");
    let mut model = Model::default();
    for op in ops.iter().take(MAX_OPS) {
        apply(&store, &mut model, op);
        check(&store, &model);
    }
}

fn apply(store: &Store, model: &mut Model, op: &Op) {
    match *op {
        Op::Add { count, size } => {
            let count = usize::from(count % 3) + 1;
            if model.order.len() + count > MAX_TASKS {
                return;
            }
            let tasks: Vec<NewTask> = (0..count)
                .map(|i| new_task(model.issued.len() + i, u64::from(size) + i as u64, PROFILE))
                .collect();
            let ids = store.add_tasks(&tasks).expect("add tasks");
            assert_eq!(ids.len(), count);
            for (id, task) in ids.into_iter().zip(&tasks) {
                let newest = model.issued.iter().max().copied().unwrap_or(TaskId(0));
                assert!(id > newest, "id {id} handed out again (newest so far {newest})");
                model.issued.push(id);
                model.order.push(id);
                model.tasks.insert(
                    id,
                    ModelTask {
                        size: task.size,
                        state: TaskState::Queued,
                        bytes_done: 0,
                        attempts: 0,
                        error: None,
                        remote_id: None,
                        parts: BTreeMap::new(),
                        resume: None,
                    },
                );
            }
        }
        Op::AddForUnknownProfile => {
            // All or none: the good task before the bad one is not added either.
            let tasks = [new_task(0, 1, PROFILE), new_task(1, 1, "no-such-profile")];
            refused(store.add_tasks(&tasks), "a task for an unknown profile");
        }
        Op::SetState { task, state, error } => {
            let id = model.pick(task);
            let state = STATES[usize::from(state) % STATES.len()];
            let error = error.then(|| TaskError {
                code: "network".into(),
                message: format!("fuzz {id}"),
            });
            let result = store.set_state(id, state, error.as_ref());
            match model.tasks.get_mut(&id) {
                Some(t) if !is_final(state) && !is_final(t.state) => {
                    result.expect("set_state");
                    t.state = state;
                    t.error = error;
                }
                _ => refused(result, "set_state to or from done/instant, or of an unknown task"),
            }
        }
        Op::Progress { task, bytes } => {
            let id = model.pick(task);
            let result = store.set_progress(id, u64::from(bytes));
            match model.tasks.get_mut(&id) {
                Some(t) if !is_final(t.state) => {
                    result.expect("set_progress");
                    t.bytes_done = u64::from(bytes);
                }
                _ => refused(result, "progress of a done/instant or unknown task"),
            }
        }
        Op::Finish { task, state } => {
            let id = model.pick(task);
            let state = STATES[usize::from(state) % STATES.len()];
            let result = store.finish(id, state, &format!("remote-{id}"));
            match model.tasks.get_mut(&id) {
                Some(t) if is_final(state) => {
                    result.expect("finish");
                    if !is_final(t.state) {
                        t.state = state;
                        t.remote_id = Some(format!("remote-{id}"));
                        t.bytes_done = t.size;
                        t.error = None;
                        t.parts.clear();
                        t.resume = None;
                        model.history += 1;
                    }
                }
                _ => refused(result, "finish as another state or of an unknown task"),
            }
        }
        Op::BumpAttempts { task } => {
            let id = model.pick(task);
            let result = store.bump_attempts(id);
            match model.tasks.get_mut(&id) {
                Some(t) => {
                    t.attempts += 1;
                    assert_eq!(result.expect("bump_attempts"), t.attempts);
                }
                None => refused(result, "an attempt of an unknown task"),
            }
        }
        Op::Move { task, to } => {
            let id = model.pick(task);
            let to = [MoveTo::Top, MoveTo::Up, MoveTo::Down, MoveTo::Bottom][usize::from(to % 4)];
            let result = store.move_task(id, to);
            let Some(at) = model.order.iter().position(|t| *t == id) else {
                return refused(result, "moving an unknown task");
            };
            result.expect("move_task");
            let last = model.order.len() - 1;
            match to {
                MoveTo::Top => {
                    let t = model.order.remove(at);
                    model.order.insert(0, t);
                }
                MoveTo::Up if at > 0 => model.order.swap(at, at - 1),
                MoveTo::Down if at < last => model.order.swap(at, at + 1),
                MoveTo::Bottom => {
                    let t = model.order.remove(at);
                    model.order.push(t);
                }
                MoveTo::Up | MoveTo::Down => {}
            }
        }
        Op::MoveBefore { ref tasks, before } => {
            let before = model.pick(before);
            let ids: Vec<TaskId> = tasks.iter().take(8).map(|t| model.pick(*t)).collect();
            let result = store.move_before(&ids, before);
            if model.live(before).is_none() {
                return refused(result, "moving before an unknown task");
            }
            result.expect("move_before");
            // Live ids other than `before`, in the given order; a repeated id lands where it is named last.
            let mut moving: Vec<TaskId> = Vec::new();
            for id in ids.iter().rev() {
                if *id != before && model.live(*id).is_some() && !moving.contains(id) {
                    moving.push(*id);
                }
            }
            moving.reverse();
            model.order.retain(|t| !moving.contains(t));
            let at = model.order.iter().position(|t| *t == before).expect("before is live");
            model.order.splice(at..at, moving);
        }
        Op::Remove { ref tasks } => {
            let ids: Vec<TaskId> = tasks.iter().take(8).map(|t| model.pick(*t)).collect();
            store.remove_tasks(&ids).expect("remove_tasks");
            for id in ids {
                model.remove(id);
            }
        }
        Op::ClearFinished => {
            let gone = model.in_order(|t| matches!(t.state, TaskState::Done | TaskState::Instant | TaskState::Cancelled));
            assert_eq!(store.clear_finished().expect("clear_finished"), gone.len());
            for id in gone {
                model.remove(id);
            }
        }
        Op::RetryFailed => {
            let failed = model.in_order(|t| t.state == TaskState::Failed);
            assert_eq!(store.retry_failed().expect("retry_failed"), failed, "retried tasks, in queue order");
            for id in failed {
                let t = model.tasks.get_mut(&id).expect("live");
                t.state = TaskState::Queued;
                t.error = None;
                t.attempts = 0;
            }
        }
        Op::Recover => {
            let active = model.in_order(|t| t.state.is_active());
            assert_eq!(
                store.recover_after_restart().expect("recover"),
                active,
                "recovered tasks, in queue order"
            );
            for id in active {
                model.tasks.get_mut(&id).expect("live").state = TaskState::Queued;
            }
        }
        Op::AckPart { task, index, receipt } => {
            let id = model.pick(task);
            let receipt = receipt.map(|r| format!("ctx-{r}"));
            let result = store.ack_part(id, u32::from(index % 8), receipt.as_deref());
            match model.tasks.get_mut(&id) {
                Some(t) => {
                    result.expect("ack_part");
                    t.parts.insert(u32::from(index % 8), receipt);
                }
                None => refused(result, "a part of an unknown task"),
            }
        }
        Op::SaveResume { task, state, expires_at } => {
            let id = model.pick(task);
            let (provider, value) = resume_state(state);
            let expires_at = expires_at.map(i64::from);
            let result = store.save_resume(id, provider, &value, expires_at);
            let secret = state % 5 >= 3;
            match model.tasks.get_mut(&id) {
                Some(t) if !secret => {
                    result.expect("save_resume");
                    if t.resume.as_ref().is_some_and(|(p, v, _)| p != provider || *v != value) {
                        t.parts.clear();
                    }
                    t.resume = Some((provider.to_owned(), value, expires_at));
                }
                _ => refused(result, "a resume state with a credential or of an unknown task"),
            }
        }
        Op::ClearResume { task } => {
            let id = model.pick(task);
            store.clear_resume(id).expect("clear_resume");
            if let Some(t) = model.tasks.get_mut(&id) {
                t.parts.clear();
                t.resume = None;
            }
        }
        Op::NextQueued { limit } => {
            let limit = usize::from(limit % 8);
            let queued: Vec<TaskId> = model.in_order(|t| t.state == TaskState::Queued).into_iter().take(limit).collect();
            let next: Vec<TaskId> = store.next_queued(limit).expect("next_queued").iter().map(|t| t.id).collect();
            assert_eq!(next, queued, "next {limit} queued tasks");
        }
    }
}

/// The store holds exactly the model: order, every task's fields, parts, resume state and history.
fn check(store: &Store, model: &Model) {
    let tasks = store.tasks().expect("tasks");
    let order: Vec<TaskId> = tasks.iter().map(|t| t.id).collect();
    assert_eq!(order, model.order, "queue order");
    for task in &tasks {
        let want = &model.tasks[&task.id];
        assert_eq!(task.state, want.state, "state of task {}", task.id);
        assert_eq!(task.size, want.size, "size of task {}", task.id);
        assert_eq!(task.bytes_done, want.bytes_done, "bytes of task {}", task.id);
        assert_eq!(task.attempts, want.attempts, "attempts of task {}", task.id);
        assert_eq!(task.error, want.error, "error of task {}", task.id);
        assert_eq!(task.remote_id, want.remote_id, "remote id of task {}", task.id);
        if is_final(task.state) {
            assert!(
                task.remote_id.is_some() && task.bytes_done == task.size,
                "finished task {} incomplete",
                task.id
            );
        }
    }
    assert_eq!(store.history(10_000).expect("history").len(), model.history, "history rows");
    for id in &model.issued {
        let parts: BTreeMap<u32, Option<String>> = store.acked_parts(*id).expect("parts").into_iter().collect();
        let resume = store.load_resume(*id).expect("resume").map(|r| (r.provider, r.state, r.expires_at));
        match model.live(*id) {
            Some(t) => {
                assert_eq!(parts, t.parts, "parts of task {id}");
                assert_eq!(resume, t.resume, "resume state of task {id}");
            }
            None => assert!(
                parts.is_empty() && resume.is_none(),
                "task {id} was removed but left parts or resume state"
            ),
        }
    }
}

fuzz_target!(|ops: Vec<Op>| run(&ops));
