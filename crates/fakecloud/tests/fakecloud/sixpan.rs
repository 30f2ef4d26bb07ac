//! A fake cloud for the 6pan/WCS tests, and a small client written from the protocol documents: 6pan
//! login and envelopes, the Qiniu/WCS etag, WCS upload tokens, slice and form uploads.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use hmac::{Hmac, Mac};
use openssl::hash::{MessageDigest, hash};
use pandrop_fakecloud::{Config, Pan6Config, RunningCloud, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use tempfile::TempDir;

pub(crate) const MIB: usize = 1024 * 1024;
pub(crate) const BLOCK: usize = 4 * MIB;

/// The Qiniu/WCS etag, written independently of the server's implementation.
pub(crate) fn etag(data: &[u8]) -> String {
    let sha1 = |d: &[u8]| hash(MessageDigest::sha1(), d).unwrap().to_vec();
    let blocks: Vec<&[u8]> = if data.is_empty() {
        vec![data]
    } else {
        data.chunks(BLOCK).collect()
    };
    let mut raw = Vec::new();
    if blocks.len() == 1 {
        raw.push(0x16);
        raw.extend(sha1(blocks[0]));
    } else {
        let joined: Vec<u8> = blocks.iter().flat_map(|b| sha1(b)).collect();
        raw.push(0x96);
        raw.extend(sha1(&joined));
    }
    URL_SAFE.encode(raw)
}

pub(crate) fn md5_hex(data: &[u8]) -> String {
    hex::encode(hash(MessageDigest::md5(), data).unwrap())
}

/// Random-looking deterministic bytes.
pub(crate) fn bytes(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x >> 8) as u8
        })
        .collect()
}

/// A WCS upload token signed with `config`'s keys, as WCS documents it.
pub(crate) fn wcs_token(config: &Pan6Config, policy: &Value) -> String {
    let encoded = URL_SAFE.encode(policy.to_string());
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(config.secret_key.as_bytes()).unwrap();
    mac.update(encoded.as_bytes());
    let sign = URL_SAFE.encode(hex::encode(mac.finalize().into_bytes()));
    format!("{}:{sign}:{encoded}", config.access_key)
}

/// A deadline `secs` from now, in Unix ms as a string.
pub(crate) fn deadline_in(secs: i64) -> String {
    (chrono::Utc::now().timestamp_millis() + secs * 1000).to_string()
}

/// An HTTP answer: status and body (JSON when it parses, else a string).
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: reqwest::header::HeaderMap,
    pub(crate) body: Value,
}

impl Reply {
    async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self { status, headers, body }
    }

    /// Asserts a 6pan success envelope and returns `result`.
    #[track_caller]
    pub(crate) fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.body["success"], true, "{:?}", self.body);
        assert_eq!(self.body["code"], "OK", "{:?}", self.body);
        &self.body["result"]
    }

    /// Asserts a 6pan business error (HTTP 200) with this code.
    #[track_caller]
    pub(crate) fn err(&self, code: &str) {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.body["success"], false, "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert_eq!(self.body["status"], 400, "{:?}", self.body);
    }

    /// Asserts a WCS error with this code as both HTTP status and body code.
    #[track_caller]
    pub(crate) fn wcs_err(&self, code: u16) {
        assert_eq!(self.status.as_u16(), code, "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert!(self.body["message"].is_string(), "{:?}", self.body);
    }
}

/// A logged-in 6pan session of either version; `token` always holds the newest token seen.
pub(crate) struct Session {
    pub(crate) v2: bool,
    pub(crate) token: String,
}

pub(crate) struct Six {
    pub(crate) cloud: Option<RunningCloud>,
    pub(crate) dir: TempDir,
    pub(crate) config: Pan6Config,
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
}

impl Six {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut Pan6Config)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Pan6Config::default();
        tweak(&mut config);
        let mut full = Config::new(dir.path());
        full.pan6 = config.clone();
        let cloud = serve("127.0.0.1:0".parse().unwrap(), full).await.unwrap();
        let base = cloud.base_url();
        assert_eq!(cloud.pan6_url(), format!("{base}/6pan"));
        assert_eq!(cloud.wcs_url(), format!("{base}/wcs"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Self {
            cloud: Some(cloud),
            dir,
            config,
            http,
            base,
        }
    }

    /// Stops the server and starts a new one on the same data dir and port (upload tokens name the port in
    /// their callback URL, as a real deployment's would name its host).
    pub(crate) async fn restart(&mut self) {
        let mut addr = "127.0.0.1:0".parse().unwrap();
        if let Some(cloud) = self.cloud.take() {
            addr = cloud.addr();
            cloud.shutdown().await;
        }
        let mut full = Config::new(self.dir.path());
        full.pan6 = self.config.clone();
        let cloud = serve(addr, full).await.unwrap();
        self.base = cloud.base_url();
        self.cloud = Some(cloud);
    }

    /// Stores `data` on the WCS host only (no 6pan file): a form upload with a bucket-only token.
    pub(crate) async fn store_blob(&self, data: &[u8]) -> String {
        let token = wcs_token(&self.config, &json!({ "scope": "other-storage", "deadline": deadline_in(600) }));
        let r = self
            .form_upload(&format!("{}/file/upload", self.wcs()), &token, data, "blob.bin", false)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        assert_eq!(r.body["hash"], etag(data));
        etag(data)
    }

    pub(crate) fn wcs(&self) -> String {
        format!("{}/wcs", self.base)
    }

    pub(crate) async fn login_raw(&self, v2: bool, value: &str, password: &str) -> Reply {
        let version = if v2 { "v2" } else { "v1" };
        let resp = self
            .http
            .post(format!("{}/6pan/{version}/user/login", self.base))
            .json(&json!({ "value": value, "password": md5_hex(password.as_bytes()), "countryCode": "86" }))
            .send()
            .await
            .unwrap();
        Reply::from(resp).await
    }

    pub(crate) async fn login(&self, v2: bool) -> Session {
        let r = self.login_raw(v2, "demo", "demo-secret").await;
        r.ok();
        let token = if v2 {
            r.headers["qingzhen-token"].to_str().unwrap().to_owned()
        } else {
            r.body["token"].as_str().unwrap().to_owned()
        };
        Session { v2, token }
    }

    /// An authenticated call that does not update the session's token.
    pub(crate) async fn call_with(&self, v2: bool, token: &str, path: &str, body: Value) -> Reply {
        let req = self.http.post(format!("{}/6pan{path}", self.base)).json(&body);
        let req = if v2 {
            req.header("Qingzhen-Token", token)
        } else {
            req.bearer_auth(token)
        };
        Reply::from(req.send().await.unwrap()).await
    }

    /// An authenticated call; the session keeps the fresh token of the answer.
    pub(crate) async fn call(&self, s: &mut Session, path: &str, body: Value) -> Reply {
        let r = self.call_with(s.v2, &s.token, path, body).await;
        if r.status == StatusCode::UNAUTHORIZED {
            return r;
        }
        let fresh = if s.v2 {
            r.headers["qingzhen-token"].to_str().unwrap().to_owned()
        } else {
            let body_token = r.body["token"].as_str().unwrap().to_owned();
            assert_eq!(r.headers["authorization"].to_str().unwrap(), format!("Bearer {body_token}"));
            body_token
        };
        assert_ne!(fresh, s.token, "every answer carries a fresh token");
        s.token = fresh;
        r
    }

    async fn wcs_post(&self, url: String, token: &str, batch: &str, body: Vec<u8>) -> Reply {
        let resp = self
            .http
            .post(url)
            .header("Authorization", token)
            .header("UploadBatch", batch)
            .header("Content-Type", "application/octet-stream")
            .body(body)
            .send()
            .await
            .unwrap();
        Reply::from(resp).await
    }

    pub(crate) async fn mkblk(&self, host: &str, token: &str, batch: &str, block_size: usize, order: usize, chunk: &[u8]) -> Reply {
        self.wcs_post(format!("{host}/mkblk/{block_size}/{order}"), token, batch, chunk.to_vec())
            .await
    }

    pub(crate) async fn bput(&self, host: &str, token: &str, batch: &str, ctx: &str, offset: u64, chunk: &[u8]) -> Reply {
        self.wcs_post(format!("{host}/bput/{ctx}/{offset}"), token, batch, chunk.to_vec())
            .await
    }

    pub(crate) async fn mkfile(&self, host: &str, token: &str, batch: &str, size: usize, params: &str, ctxs: &[String]) -> Reply {
        self.wcs_post(format!("{host}/mkfile/{size}{params}"), token, batch, ctxs.join(",").into_bytes())
            .await
    }

    /// Uploads one block in `chunk`-sized pieces, checking every reply; returns the last ctx.
    pub(crate) async fn block(&self, host: &str, token: &str, batch: &str, data: &[u8], order: usize, chunk: usize) -> String {
        let block = &data[order * BLOCK..((order + 1) * BLOCK).min(data.len())];
        let mut pieces = block.chunks(chunk.max(1));
        let first = pieces.next().unwrap_or(&[]);
        let r = self.mkblk(host, token, batch, block.len(), order, first).await;
        let mut offset = check_chunk(&r, first, first.len() as u64);
        let mut ctx = r.body["ctx"].as_str().unwrap().to_owned();
        for piece in pieces {
            let r = self.bput(host, token, batch, &ctx, offset, piece).await;
            offset = check_chunk(&r, piece, offset + piece.len() as u64);
            ctx = r.body["ctx"].as_str().unwrap().to_owned();
        }
        ctx
    }

    /// A whole slice upload with the blocks in parallel (started in reverse order); returns mkfile's reply.
    pub(crate) async fn slice_upload(&self, host: &str, token: &str, data: &[u8], chunk: usize) -> Reply {
        let batch = uuid::Uuid::new_v4().simple().to_string();
        let count = data.len().div_ceil(BLOCK).max(1);
        let uploads = (0..count).rev().map(|order| self.block(host, token, &batch, data, order, chunk));
        let mut ctxs = futures::future::join_all(uploads).await;
        ctxs.reverse();
        self.mkfile(host, token, &batch, data.len(), "", &ctxs).await
    }

    /// A form upload; `file_first` puts the file part before the token.
    pub(crate) async fn form_upload(&self, url: &str, token: &str, data: &[u8], filename: &str, file_first: bool) -> Reply {
        let file = reqwest::multipart::Part::bytes(data.to_vec())
            .file_name(filename.to_owned())
            .mime_str("application/octet-stream")
            .unwrap();
        let form = reqwest::multipart::Form::new();
        let form = if file_first {
            form.part("file", file).text("token", token.to_owned())
        } else {
            form.text("token", token.to_owned()).part("file", file)
        };
        Reply::from(self.http.post(url).multipart(form).send().await.unwrap()).await
    }

    pub(crate) async fn admin(&self, what: &str) -> Value {
        self.http
            .get(format!("{}/_admin/{what}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The 6pan entries of `GET /_admin/files`.
    pub(crate) async fn files(&self) -> Vec<Value> {
        let all = self.admin("files").await;
        all.as_array()
            .unwrap()
            .iter()
            .filter(|f| f["provider"] == "6pan")
            .cloned()
            .collect()
    }

    pub(crate) async fn add_faults(&self, plan: Value) {
        let resp = self
            .http
            .post(format!("{}/_admin/faults", self.base))
            .json(&plan)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK, "{:?}", resp.text().await);
    }
}

/// Checks a chunk reply (`checksum` = MD5 hex, `crc32` = CRC-32 of the chunk, `offset`); returns the offset.
#[track_caller]
pub(crate) fn check_chunk(r: &Reply, chunk: &[u8], offset: u64) -> u64 {
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(r.body["checksum"], md5_hex(chunk), "{:?}", r.body);
    assert_eq!(r.body["crc32"], crc32fast::hash(chunk), "{:?}", r.body);
    assert_eq!(r.body["offset"], offset, "{:?}", r.body);
    offset
}
