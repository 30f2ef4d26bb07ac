//! A fake cloud for the HalalCloud tests, and a small v6 client written from the spec: the HL6-HMAC-SHA256
//! signer, CIDs and the upload host.

use std::time::Duration;

use hmac::{Hmac, Mac};
use pandrop_fakecloud::{Config, HalalCloudConfig, RunningCloud, serve};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tempfile::TempDir;

pub(crate) const MIB: usize = 1024 * 1024;

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// What a signature covers.
pub(crate) struct ToSign<'a> {
    pub(crate) client_id: &'a str,
    pub(crate) secret: &'a str,
    pub(crate) token: &'a str,
    pub(crate) path: &'a str,
    /// Lower-case names and values, sorted by name.
    pub(crate) headers: &'a [(&'a str, String)],
    pub(crate) timestamp: &'a str,
    pub(crate) body: &'a [u8],
}

/// Steps 3–8 of spec §4: the canonical request, the string to sign and the `Authorization` value.
pub(crate) fn sign(s: &ToSign<'_>) -> (String, String, String) {
    let date = &s.timestamp[..10];
    let canonical_headers: String = s.headers.iter().map(|(n, v)| format!("{n}:{v}\n")).collect();
    let names = s.headers.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(";");
    let canonical = format!("POST\n{}\n\n{canonical_headers}\n{names}\n{}", s.path, sha256_hex(s.body));
    let scope = format!("{date}/{}/hl6_request", s.token);
    let to_sign = format!("HL6-HMAC-SHA256\n{}\n{scope}\n{}", s.timestamp, sha256_hex(canonical.as_bytes()));
    let k1 = hmac(format!("HL6{}", s.secret).as_bytes(), date.as_bytes());
    let k2 = hmac(&k1, s.token.as_bytes());
    let k3 = hmac(&k2, b"hl6_request");
    let signature = hex::encode(hmac(&k3, to_sign.as_bytes()));
    let auth = format!(
        "HL6-HMAC-SHA256 Credential={}/{scope}, SignedHeaders={names}, Signature={signature}",
        s.client_id
    );
    (canonical, to_sign, auth)
}

/// `T` of spec §4 for a moment `offset` seconds from now.
pub(crate) fn timestamp(offset: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::seconds(offset))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

pub(crate) fn nonce() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Lower-case RFC 4648 base32 without padding.
fn base32(data: &[u8]) -> String {
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let mut bits = String::new();
    for b in data {
        bits.push_str(&format!("{b:08b}"));
    }
    while !bits.len().is_multiple_of(5) {
        bits.push('0');
    }
    bits.as_bytes()
        .chunks(5)
        .map(|c| char::from(alphabet[usize::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap()]))
        .collect()
}

/// The CIDv1 (raw, sha2-256) of a block, spec §6.4.
pub(crate) fn cid(block: &[u8]) -> String {
    let mut raw = vec![0x01, 0x55, 0x12, 0x20];
    raw.extend(Sha256::digest(block));
    format!("b{}", base32(&raw))
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

/// An HTTP answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) body: Value,
}

impl Reply {
    async fn from(resp: reqwest::Response) -> Self {
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Self { status, body }
    }

    /// Asserts HTTP 200 and returns the body.
    #[track_caller]
    pub(crate) fn ok(&self) -> &Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        &self.body
    }

    /// Asserts a gateway error with this HTTP status and gRPC code; returns the message.
    #[track_caller]
    pub(crate) fn err(&self, http: u16, code: i64) -> &str {
        assert_eq!(self.status.as_u16(), http, "{:?}", self.body);
        assert_eq!(self.body["code"], code, "{:?}", self.body);
        assert_eq!(self.body["details"], json!([]), "{:?}", self.body);
        self.body["message"].as_str().unwrap()
    }
}

/// Which key signs a call.
#[derive(Debug, Clone)]
pub(crate) struct Key {
    pub(crate) id: String,
    pub(crate) secret: String,
    pub(crate) token: String,
}

pub(crate) struct Halal {
    pub(crate) cloud: Option<RunningCloud>,
    pub(crate) _dir: TempDir,
    pub(crate) http: reqwest::Client,
    pub(crate) base: String,
    pub(crate) config: HalalCloudConfig,
}

impl Halal {
    pub(crate) async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub(crate) async fn start_with(tweak: impl FnOnce(&mut HalalCloudConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut config = HalalCloudConfig {
            device_poll_interval_secs: 0,
            ..HalalCloudConfig::default()
        };
        tweak(&mut config);
        let mut full = Config::new(dir.path());
        full.halalcloud = config.clone();
        let cloud = serve("127.0.0.1:0".parse().unwrap(), full).await.unwrap();
        let base = cloud.base_url();
        assert_eq!(cloud.halalcloud_url(), format!("{base}/halalcloud"));
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        Self {
            cloud: Some(cloud),
            _dir: dir,
            http,
            base,
            config,
        }
    }

    /// Stops the server and starts a new one on the same data dir (on a new port).
    pub(crate) async fn restart(&mut self) {
        if let Some(cloud) = self.cloud.take() {
            cloud.shutdown().await;
        }
        let mut full = Config::new(self._dir.path());
        full.halalcloud = self.config.clone();
        let cloud = serve("127.0.0.1:0".parse().unwrap(), full).await.unwrap();
        self.base = cloud.base_url();
        self.cloud = Some(cloud);
    }

    pub(crate) fn cloud(&self) -> &RunningCloud {
        self.cloud.as_ref().unwrap()
    }

    /// The personal key.
    pub(crate) fn personal(&self) -> Key {
        Key {
            id: self.config.client_id.clone(),
            secret: self.config.client_secret.clone(),
            token: String::new(),
        }
    }

    /// The app key, with `token` in the scope.
    pub(crate) fn app(&self, token: &str) -> Key {
        Key {
            id: self.config.app_client_id.clone(),
            secret: self.config.app_client_secret.clone(),
            token: token.to_owned(),
        }
    }

    fn host(&self) -> String {
        self.base.trim_start_matches("http://").to_owned()
    }

    /// The headers of a correctly signed call made at `t` with `nonce` (Authorization last).
    pub(crate) fn signed_headers(&self, key: &Key, method: &str, body: &[u8], t: &str, nonce: &str) -> Vec<(&'static str, String)> {
        let mut headers = Vec::new();
        if !body.is_empty() {
            headers.push(("content-type", "application/json; charset=utf-8".to_owned()));
        }
        headers.extend([
            ("host", self.host()),
            ("other-header", "other-value".to_owned()),
            ("x-hl-nonce", nonce.to_owned()),
            ("x-hl-timestamp", t.to_owned()),
        ]);
        let path = format!("/halalcloud/v6/{method}");
        let (_, _, auth) = sign(&ToSign {
            client_id: &key.id,
            secret: &key.secret,
            token: &key.token,
            path: &path,
            headers: &headers,
            timestamp: t,
            body,
        });
        headers.push(("authorization", auth));
        headers
    }

    /// Sends `headers` (the `host` entry is left to reqwest, which sends the same value) and `body`.
    pub(crate) async fn send(&self, method: &str, headers: &[(&str, String)], body: Vec<u8>) -> Reply {
        let mut req = self.http.post(format!("{}/halalcloud/v6/{method}", self.base));
        for (name, value) in headers {
            if *name != "host" {
                req = req.header(*name, value);
            }
        }
        Reply::from(req.body(body).send().await.unwrap()).await
    }

    /// A correctly signed call, e.g. `call(&key, "user/get", json!({}))`.
    pub(crate) async fn call(&self, key: &Key, method: &str, body: Value) -> Reply {
        let body = body.to_string().into_bytes();
        let headers = self.signed_headers(key, method, &body, &timestamp(0), &nonce());
        self.send(method, &headers, body).await
    }

    pub(crate) async fn mkdir(&self, path: &str) -> Value {
        self.call(&self.personal(), "userfile/create", json!({ "path": path }))
            .await
            .ok()
            .clone()
    }

    pub(crate) async fn create_task(&self, path: &str, size: usize) -> Value {
        self.call(
            &self.personal(),
            "userfile/create_upload_task",
            json!({ "path": path, "size": size.to_string() }),
        )
        .await
        .ok()
        .clone()
    }

    pub(crate) async fn probe(&self, address: &str, task: &str, cid: &str) -> Reply {
        let resp = self
            .http
            .get(format!("{address}/{task}/{cid}"))
            .header("Accept", "application/json")
            .send()
            .await
            .unwrap();
        Reply::from(resp).await
    }

    pub(crate) async fn post_block(&self, address: &str, task: &str, cid: &str, block: Vec<u8>) -> Reply {
        let resp = self
            .http
            .post(format!("{address}/{task}/{cid}"))
            .header("Content-Type", "application/octet-stream")
            .body(block)
            .send()
            .await
            .unwrap();
        Reply::from(resp).await
    }

    pub(crate) async fn finish(&self, address: &str, task: &str, cids: &[String]) -> Reply {
        let resp = self.http.post(format!("{address}/{task}")).json(&cids).send().await.unwrap();
        Reply::from(resp).await
    }

    /// The whole upload of spec §6: task, per block probe then (on `false`) POST, finish. Returns the
    /// finish answer and how many blocks were sent.
    pub(crate) async fn upload(&self, path: &str, data: &[u8]) -> (Value, usize) {
        let t = self.create_task(path, data.len()).await;
        let (task, address) = (t["task"].as_str().unwrap(), t["upload_address"].as_str().unwrap());
        let block = t["block_size"].as_str().unwrap().parse::<usize>().unwrap();
        let mut cids = Vec::new();
        let mut sent = 0;
        for chunk in data.chunks(block) {
            let c = cid(chunk);
            if self.probe(address, task, &c).await.ok() == &json!(false) {
                self.post_block(address, task, &c, chunk.to_vec()).await.ok();
                sent += 1;
            }
            cids.push(c);
        }
        (self.finish(address, task, &cids).await.ok().clone(), sent)
    }

    pub(crate) async fn admin(&self, path: &str) -> Value {
        self.http
            .get(format!("{}/_admin/{path}", self.base))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    pub(crate) async fn approve(&self, user_code: &str) -> StatusCode {
        self.http
            .post(format!("{}/_admin/halalcloud/approve", self.base))
            .json(&json!({ "user_code": user_code }))
            .send()
            .await
            .unwrap()
            .status()
    }

    /// The device-code flow up to the tokens: `(access_token, refresh_token)`.
    pub(crate) async fn device_login(&self) -> (String, String) {
        let app = self.app("");
        let code = self.call(&app, "oauth/device_code", json!({ "client_id": app.id })).await;
        let code = code.ok().clone();
        assert_eq!(self.approve(code["user_code"].as_str().unwrap()).await, StatusCode::OK);
        let state = self
            .call(&app, "oauth/get_device_code_state", json!({ "device_code": code["device_code"] }))
            .await;
        let state = state.ok();
        assert_eq!(state["status"], "AUTHORIZATION_SUCCESS", "{state:?}");
        (
            state["access_token"].as_str().unwrap().to_owned(),
            state["refresh_token"].as_str().unwrap().to_owned(),
        )
    }
}
