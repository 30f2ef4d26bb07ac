//! A fake cloud on 127.0.0.1:0 with a temp data dir, and a small protocol client written from the docs.

use std::time::Duration;

use openssl::hash::{MessageDigest, hash};
use pandrop_fakecloud::{Config, Pan123Config, RateLimits, RunningCloud, serve};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use tempfile::TempDir;

pub(crate) const CLIENT_ID: &str = "demo";
pub(crate) const CLIENT_SECRET: &str = "demo-secret";
/// Small slices keep the tests fast while still exercising multi-slice uploads.
pub(crate) const TEST_SLICE: u64 = 1000;

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex::encode(hash(MessageDigest::md5(), data).unwrap())
}

/// Deterministic, non-repeating-looking test bytes.
pub(crate) fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| ((i * 31 + usize::from(seed) * 7 + i / 251) % 256) as u8).collect()
}

pub(crate) struct Harness {
    pub(crate) cloud: Option<RunningCloud>,
    pub(crate) dir: TempDir,
    pub(crate) config: Pan123Config,
    /// The rate limits the server starts with (also after a restart).
    pub(crate) rate_limits: RateLimits,
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

/// A JSON answer with its HTTP status.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Answer {
    pub(crate) fn code(&self) -> i64 {
        self.body["code"].as_i64().unwrap_or_else(|| panic!("no code in {:?}", self.body))
    }
    pub(crate) fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }
    pub(crate) fn data(&self) -> &Value {
        &self.body["data"]
    }
    /// Asserts success (HTTP 200, code 0, "ok") and returns `data`.
    #[track_caller]
    pub(crate) fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.code(), 0, "{:?}", self.body);
        assert_eq!(self.message(), "ok");
        assert!(self.body["x-traceID"].is_string());
        self.data()
    }
    /// Asserts an envelope error with this code and returns the message.
    #[track_caller]
    pub(crate) fn err(&self, code: i64) -> &str {
        assert_eq!(self.code(), code, "{:?}", self.body);
        assert!(self.data().is_null(), "{:?}", self.body);
        self.message()
    }
}

impl Harness {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut Pan123Config)) -> Self {
        Self::launch(tweak, RateLimits::new()).await
    }

    /// A server that starts with these rate limits.
    pub(crate) async fn start_limited(rate_limits: RateLimits) -> Self {
        Self::launch(|_| {}, rate_limits).await
    }

    async fn launch(tweak: impl FnOnce(&mut Pan123Config), rate_limits: RateLimits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Pan123Config {
            slice_size: TEST_SLICE,
            ..Pan123Config::default()
        };
        tweak(&mut config);
        let cloud = serve(
            "127.0.0.1:0".parse().unwrap(),
            Config {
                data_dir: dir.path().to_owned(),
                pan123: config.clone(),
                pan6: Default::default(),
                halalcloud: Default::default(),
                rate_limits: rate_limits.clone(),
            },
        )
        .await
        .unwrap();
        let base = cloud.base_url();
        let http = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        Self {
            cloud: Some(cloud),
            dir,
            config,
            rate_limits,
            http,
            base,
        }
    }

    pub(crate) fn cloud(&self) -> &RunningCloud {
        self.cloud.as_ref().unwrap()
    }

    /// Stops the server and starts a new one on the same data dir (on a new port).
    pub(crate) async fn restart(&mut self) {
        if let Some(cloud) = self.cloud.take() {
            cloud.shutdown().await;
        }
        let config = Config {
            data_dir: self.dir.path().to_owned(),
            pan123: self.config.clone(),
            pan6: Default::default(),
            halalcloud: Default::default(),
            rate_limits: self.rate_limits.clone(),
        };
        let cloud = serve("127.0.0.1:0".parse().unwrap(), config).await.unwrap();
        self.base = cloud.base_url();
        self.cloud = Some(cloud);
    }

    pub(crate) fn api(&self) -> String {
        format!("{}/123pan", self.base)
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api())
    }

    async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text:?}"));
        Answer { status, body }
    }

    pub(crate) async fn token_answer(&self, id: &str, secret: &str) -> Answer {
        let resp = self
            .http
            .post(self.url("/api/v1/access_token"))
            .header("Platform", "open_platform")
            .json(&json!({ "clientID": id, "clientSecret": secret }))
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    pub(crate) async fn token(&self) -> String {
        let a = self.token_answer(CLIENT_ID, CLIENT_SECRET).await;
        a.ok()["accessToken"].as_str().unwrap().to_owned()
    }

    pub(crate) async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        Self::answer(self.post_raw(path, token, body).await).await
    }

    /// The same request, answered as it came: for checks on the status line, headers and a cut body.
    pub(crate) async fn post_raw(&self, path: &str, token: &str, body: Value) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("Platform", "open_platform")
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    pub(crate) async fn get(&self, path_and_query: &str, token: &str) -> Answer {
        let resp = self
            .http
            .get(self.url(path_and_query))
            .header("Platform", "open_platform")
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    pub(crate) async fn create(&self, token: &str, parent: i64, filename: &str, data: &[u8], extra: Value) -> Answer {
        let mut body = json!({ "parentFileID": parent, "filename": filename, "etag": md5_hex(data), "size": data.len() });
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        self.post("/upload/v2/file/create", token, body).await
    }

    pub(crate) async fn send_slice(&self, server: &str, token: &str, id: &str, no: u32, md5: &str, data: Vec<u8>) -> Answer {
        let form = Form::new()
            .text("preuploadID", id.to_owned())
            .text("sliceNo", no.to_string())
            .text("sliceMD5", md5.to_owned())
            .part("slice", Part::bytes(data).file_name(format!("file.part{no}")));
        let resp = self
            .http
            .post(format!("{server}/upload/v2/file/slice"))
            .header("Platform", "open_platform")
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        Self::answer(resp).await
    }

    /// Sends slice `no` (1-based) of `data` cut at `slice`.
    pub(crate) async fn slice_of(&self, server: &str, token: &str, id: &str, data: &[u8], slice: u64, no: u32) -> Answer {
        let start = (u64::from(no - 1) * slice) as usize;
        let end = (start + slice as usize).min(data.len());
        let part = data[start..end].to_vec();
        self.send_slice(server, token, id, no, &md5_hex(&part), part).await
    }

    pub(crate) async fn complete(&self, token: &str, id: &str) -> Answer {
        self.post("/upload/v2/file/upload_complete", token, json!({ "preuploadID": id }))
            .await
    }

    /// Full chunked upload in order; returns the file id.
    pub(crate) async fn upload(&self, token: &str, parent: i64, filename: &str, data: &[u8], extra: Value) -> i64 {
        let created = self.create(token, parent, filename, data, extra).await;
        let d = created.ok().clone();
        if d["reuse"] == json!(true) {
            return d["fileID"].as_i64().unwrap();
        }
        let id = d["preuploadID"].as_str().unwrap();
        let slice = d["sliceSize"].as_u64().unwrap();
        let server = d["servers"][0].as_str().unwrap();
        for no in 1..=data.len().div_ceil(slice as usize) as u32 {
            self.slice_of(server, token, id, data, slice, no).await.ok();
        }
        let done = self.complete(token, id).await;
        let d = done.ok();
        assert_eq!(d["completed"], json!(true), "{d:?}");
        d["fileID"].as_i64().unwrap()
    }

    pub(crate) async fn admin_files(&self) -> Vec<Value> {
        let v: Value = self
            .http
            .get(format!("{}/_admin/files", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        v.as_array().unwrap().clone()
    }

    pub(crate) async fn stats(&self) -> Value {
        self.http
            .get(format!("{}/_admin/stats", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn add_faults(&self, plan: Value) -> reqwest::Response {
        self.http
            .post(format!("{}/_admin/faults", self.base))
            .json(&plan)
            .send()
            .await
            .unwrap()
    }

    /// `PUT /_admin/rate-limits` with this body.
    pub(crate) async fn put_rate_limits(&self, limits: Value) -> reqwest::Response {
        self.http
            .put(format!("{}/_admin/rate-limits", self.base))
            .json(&limits)
            .send()
            .await
            .unwrap()
    }

    /// `GET /_admin/rate-limits`.
    pub(crate) async fn rate_limits(&self) -> Value {
        let resp = self.http.get(format!("{}/_admin/rate-limits", self.base)).send().await.unwrap();
        resp.json().await.unwrap()
    }

    /// Lists a folder (one page).
    pub(crate) async fn list(&self, token: &str, query: &str) -> Answer {
        self.get(&format!("/api/v2/file/list?{query}"), token).await
    }
}
