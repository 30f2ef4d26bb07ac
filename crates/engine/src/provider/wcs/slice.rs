//! The WCS slice upload: blocks in parallel, chunks in order, every receipt checked, then `mkfile`.

use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use tokio::sync::RwLock;

use super::reply::{self, Call, ChunkReceipt, Failure, MkfileResult};
use super::{BLOCK_SIZE, CallbackFile, Completion, PROVIDER, Renewal, UploadGrant};
use crate::error::{Error, Result, shown};
use crate::hash::md5_hex;
use crate::http::{self, RetryPolicy};
use crate::provider::{PartBody, PartPlan, PartReceipt, RemoteFile, ResumeState, UploadSession};

/// Tries per block before its error is final (701 / 412 / receipts that do not match).
const BLOCK_ATTEMPTS: u32 = 3;
/// Times a chunk is resent when its receipt's crc32 or checksum does not match what was sent.
const CHUNK_RESENDS: u32 = 3;
/// New upload tokens one file may ask for; a cloud that keeps issuing dead tokens must not loop forever.
const MAX_RENEWALS: u32 = 3;
/// mkfile rounds (each after re-sending the file or renewing the token).
const MKFILE_ROUNDS: u32 = 3;
/// Times mkfile is asked again with the same contexts after a 401, as the official WCS SDKs do, before the
/// token is renewed.
const MKFILE_REFUSALS: u32 = 3;

/// What a slice upload saves to continue after a restart (spec §3.7), without the upload token.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct SavedBlocks {
    /// The `UploadBatch` every request of the file carries.
    pub batch: String,
    /// The upload host.
    pub url: String,
    /// File size.
    pub size: u64,
    /// The file's etag.
    pub etag: String,
}

/// The current grant and how many times it was renewed.
struct GrantState {
    grant: UploadGrant,
    generation: u32,
    /// Set when a renewal found the file already stored (nothing left to send).
    done: Option<RemoteFile>,
}

/// One file's slice upload.
pub(crate) struct SliceSession {
    http: reqwest::Client,
    state: RwLock<GrantState>,
    batch: String,
    path: PathBuf,
    size: u64,
    etag: String,
    chunk_size: u64,
    parallel: usize,
    ctxs: Mutex<Vec<Option<String>>>,
    completion: Arc<dyn Completion>,
    retry: RetryPolicy,
}

impl SliceSession {
    /// A session for `path` (`size` bytes, etag `etag`) under `grant`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        http: reqwest::Client,
        grant: UploadGrant,
        path: PathBuf,
        size: u64,
        etag: String,
        chunk_size: u64,
        completion: Arc<dyn Completion>,
        retry: RetryPolicy,
    ) -> Self {
        let blocks = PartPlan::new(size, BLOCK_SIZE).part_count as usize;
        Self {
            http,
            state: RwLock::new(GrantState {
                grant,
                generation: 0,
                done: None,
            }),
            // One id for every request of this file (spec §3.2).
            batch: uuid::Uuid::new_v4().simple().to_string(),
            path,
            size,
            etag,
            chunk_size: chunk_size.clamp(1, BLOCK_SIZE),
            parallel: 3,
            ctxs: Mutex::new(vec![None; blocks]),
            completion,
            retry,
        }
    }

    async fn grant(&self) -> (UploadGrant, u32, Option<RemoteFile>) {
        let s = self.state.read().await;
        (s.grant.clone(), s.generation, s.done.clone())
    }

    /// Replaces the grant seen at `generation` (once, however many blocks saw it expire).
    async fn renew(&self, generation: u32, cause: Error) -> Result<()> {
        let mut s = self.state.write().await;
        if s.generation != generation || s.done.is_some() {
            return Ok(());
        }
        if s.generation >= MAX_RENEWALS {
            return Err(cause);
        }
        tracing::info!(generation, "upload token refused; asking for a new one");
        match self.completion.renew().await? {
            Renewal::Done(file) => s.done = Some(file),
            Renewal::Grant(grant) => s.grant = grant,
        }
        s.generation += 1;
        Ok(())
    }

    fn set_ctx(&self, index: u32, ctx: Option<String>) {
        let mut ctxs = self.ctxs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(slot) = ctxs.get_mut(index as usize) {
            *slot = ctx;
        }
    }

    /// Sends one block under `grant` and returns its last ctx.
    async fn send_block(&self, part: &PartBody, grant: &UploadGrant) -> Result<String, Failure> {
        let data = part.read().await?;
        let len = data.len() as u64;
        let mut ctx: Option<String> = None;
        let mut offset = 0u64;
        // An empty file is one empty block: mkblk/0/0 with an empty body (spec §3.8).
        loop {
            let end = (offset + self.chunk_size).min(len);
            let chunk = data.slice(offset as usize..end as usize);
            let path = match &ctx {
                None => format!("mkblk/{len}/{}", part.index),
                Some(c) => format!("bput/{c}/{offset}"),
            };
            let receipt = self.send_chunk(grant, &path, part, chunk, offset).await?;
            ctx = Some(receipt.ctx);
            offset = receipt.offset;
            if offset >= len {
                break;
            }
        }
        ctx.ok_or_else(|| Failure::Other(protocol("no ctx for block")))
    }

    /// Posts one chunk, checking the receipt against what was sent and resending on a mismatch.
    async fn send_chunk(
        &self,
        grant: &UploadGrant,
        path: &str,
        part: &PartBody,
        chunk: Bytes,
        offset: u64,
    ) -> Result<ChunkReceipt, Failure> {
        let url = join(&grant.url, path)?;
        let crc = u64::from(crc32fast::hash(&chunk));
        let md5 = md5_hex(&chunk);
        let expected_offset = offset + chunk.len() as u64;
        let mut mismatch = None;
        for _ in 0..CHUNK_RESENDS {
            let body = self
                .post_retried(
                    Call::Chunk,
                    grant,
                    &url,
                    || Some(part.body_from_at(chunk.clone(), offset)),
                    chunk.len(),
                )
                .await?;
            let receipt: ChunkReceipt = reply::parse(&body)?;
            let crc_ok = receipt.crc32.is_none_or(|c| c == crc);
            let md5_ok = receipt.checksum.as_deref().is_none_or(|c| c.eq_ignore_ascii_case(&md5));
            if crc_ok && md5_ok && receipt.offset == expected_offset {
                return Ok(receipt);
            }
            tracing::warn!(block = part.index, offset, "chunk receipt does not match what was sent; resending");
            mismatch = Some(Error::Integrity {
                provider: PROVIDER,
                detail: format!(
                    "block {} chunk at {offset}: receipt crc32/checksum/offset do not match the bytes sent",
                    part.index
                ),
            });
        }
        Err(Failure::RedoBlock(mismatch.unwrap_or_else(|| protocol("chunk not acknowledged"))))
    }

    /// POSTs with retries on transient errors; returns the 200 body or the reaction to a failure.
    async fn post_retried(
        &self,
        call: Call,
        grant: &UploadGrant,
        url: &url::Url,
        body: impl Fn() -> Option<reqwest::Body>,
        len: usize,
    ) -> Result<Vec<u8>, Failure> {
        let outcome = http::retry(&self.retry, || async {
            let mut req = self
                .http
                .post(url.clone())
                .header(reqwest::header::AUTHORIZATION, grant.token.expose_secret())
                .header("UploadBatch", &self.batch)
                .header(reqwest::header::CONTENT_LENGTH, len);
            req = match body() {
                Some(b) => req.header(reqwest::header::CONTENT_TYPE, "application/octet-stream").body(b),
                None => req,
            };
            send(call, req).await
        })
        .await;
        match outcome {
            Ok(inner) => inner,
            Err(e) => Err(Failure::Other(e)),
        }
    }

    async fn mkfile(&self, grant: &UploadGrant, ctxs: &[String]) -> Result<MkfileResult, Failure> {
        let url = join(&grant.url, &format!("mkfile/{}", self.size))?;
        let text = ctxs.join(",");
        let outcome = http::retry(&self.retry, || async {
            let req = self
                .http
                .post(url.clone())
                .header(reqwest::header::AUTHORIZATION, grant.token.expose_secret())
                .header("UploadBatch", &self.batch)
                .header(reqwest::header::CONTENT_TYPE, "text/plain;charset=UTF-8")
                .body(text.clone());
            send(Call::Mkfile, req).await
        })
        .await;
        let body = match outcome {
            Ok(inner) => inner?,
            Err(e) => return Err(Failure::Other(e)),
        };
        Ok(reply::parse(&body)?)
    }

    /// Sends every block again (after the cloud could not assemble them, or under a new token).
    async fn resend_all(&self) -> Result<()> {
        let plan = self.plan();
        let parts: Vec<PartBody> = (0..plan.part_count)
            .map(|i| {
                let (offset, len) = plan.range(i, self.size);
                PartBody::new(i, offset, len, self.path.clone(), None)
            })
            .collect();
        let mut sent = futures::stream::iter(parts)
            .map(|p| async move { self.put_part(&p).await })
            .buffer_unordered(self.parallel);
        while let Some(result) = sent.next().await {
            result?;
        }
        Ok(())
    }

    /// Continues a saved upload: its `UploadBatch` and the ctxs of the blocks it already sent. The ctxs are
    /// tried under the new grant; if the cloud refuses them at mkfile, the file is sent again.
    pub(crate) fn restore(mut self, batch: String, ctxs: &[(u32, String)]) -> Self {
        self.batch = batch;
        {
            let slots = self.ctxs.get_mut().unwrap_or_else(|p| p.into_inner());
            for (index, ctx) in ctxs {
                if let Some(slot) = slots.get_mut(*index as usize) {
                    *slot = Some(ctx.clone());
                }
            }
        }
        self
    }

    /// Checks mkfile's answer: its hash must be ours, and the callback body must name a file.
    pub(crate) fn finish(&self, result: MkfileResult) -> Result<RemoteFile> {
        if result.hash != self.etag {
            return Err(Error::Integrity {
                provider: PROVIDER,
                detail: format!(
                    "the assembled file's hash {} is not the local etag {}",
                    shown(&result.hash),
                    self.etag
                ),
            });
        }
        let body = result.response.ok_or_else(|| protocol("mkfile returned no callback response"))?;
        check_callback(self.completion.parse_callback(&body)?, &self.etag, self.size)
    }
}

#[async_trait]
impl UploadSession for SliceSession {
    fn plan(&self) -> PartPlan {
        PartPlan::new(self.size, BLOCK_SIZE)
    }

    async fn put_part(&self, part: &PartBody) -> Result<PartReceipt> {
        let mut last = None;
        for _ in 0..BLOCK_ATTEMPTS {
            let (grant, generation, done) = self.grant().await;
            if done.is_some() {
                return Ok(PartReceipt::default());
            }
            match self.send_block(part, &grant).await {
                Ok(ctx) => {
                    self.set_ctx(part.index, Some(ctx.clone()));
                    return Ok(PartReceipt(Some(ctx)));
                }
                Err(Failure::RedoBlock(e)) => {
                    tracing::warn!(block = part.index, error = %e, "sending the block again");
                    last = Some(e);
                }
                Err(Failure::Expired(e)) => {
                    self.renew(generation, e).await?;
                }
                Err(other) => return Err(other.into_error()),
            }
        }
        Err(last.unwrap_or_else(|| protocol("block not accepted")))
    }

    /// The batch id and where blocks go; the upload token itself is asked for again on resume.
    fn resume_state(&self) -> Option<ResumeState> {
        let grant = self.state.try_read().ok()?.grant.clone();
        let saved = SavedBlocks {
            batch: self.batch.clone(),
            url: grant.url.to_string(),
            size: self.size,
            etag: self.etag.clone(),
        };
        Some(ResumeState {
            provider: self.completion.provider().to_owned(),
            state: serde_json::to_value(saved).ok()?,
            expires_at: grant.deadline_ms(),
        })
    }

    async fn complete(&self) -> Result<RemoteFile> {
        let mut last = None;
        let (mut rounds, mut refusals) = (0, 0);
        while rounds < MKFILE_ROUNDS {
            let (grant, generation, done) = self.grant().await;
            if let Some(file) = done {
                return Ok(file);
            }
            let ctxs: Option<Vec<String>> = self.ctxs.lock().unwrap_or_else(|p| p.into_inner()).iter().cloned().collect();
            let Some(ctxs) = ctxs else {
                self.resend_all().await?;
                rounds += 1;
                continue;
            };
            match self.mkfile(&grant, &ctxs).await {
                Ok(result) => return self.finish(result),
                Err(Failure::RedoFile(e) | Failure::RedoBlock(e)) => {
                    tracing::warn!(error = %e, "the cloud could not assemble the blocks; sending the file again");
                    self.ctxs
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .iter_mut()
                        .for_each(|c| *c = None);
                    last = Some(e);
                    rounds += 1;
                }
                // 401 at mkfile is, to the official SDKs, a failed check of the blocks: they repeat mkfile with
                // the same contexts. Doing so first costs one request; renewing costs every block again.
                Err(Failure::Expired(e)) if refusals < MKFILE_REFUSALS => {
                    tracing::warn!(error = %e, "mkfile refused; asking again with the same blocks");
                    tokio::time::sleep(self.retry.delay(refusals)).await;
                    refusals += 1;
                    last = Some(e);
                }
                // Still refused: the token itself is gone. Under a new one the same contexts are tried first;
                // a cloud that cannot use them says so (701 / 412) and the file goes again.
                Err(Failure::Expired(e)) => {
                    self.renew(generation, e).await?;
                    refusals = 0;
                    rounds += 1;
                }
                // The bytes are stored; repeating mkfile would not help. Ask 6pan by hash instead (spec §5.4).
                Err(Failure::CallbackFailed(e)) => {
                    tracing::warn!(error = %e, "stored, but the callback failed; asking the cloud by hash");
                    return match self.completion.renew().await? {
                        Renewal::Done(file) => Ok(file),
                        Renewal::Grant(_) => Err(e),
                    };
                }
                Err(Failure::Other(e)) => return Err(e),
            }
        }
        Err(last.unwrap_or_else(|| protocol("the cloud did not assemble the file")))
    }
}

/// Sends a request; 200 gives the body, anything else the reaction to it.
pub(super) async fn send(call: Call, req: reqwest::RequestBuilder) -> Result<Result<Vec<u8>, Failure>> {
    let resp = req.send().await.map_err(|e| Error::from_transport(PROVIDER, e))?;
    let status = resp.status().as_u16();
    let body = http::read_capped(PROVIDER, resp).await?;
    if status == 200 {
        return Ok(Ok(body));
    }
    match reply::failure(call, status, &body) {
        // Transient errors go back to the retry loop as errors; the rest are reactions for the caller.
        Failure::Other(e) if e.is_retryable() => Err(e),
        other => Ok(Err(other)),
    }
}

/// Checks the callback's file against the local etag and size, as far as the callback states them.
pub(super) fn check_callback(file: CallbackFile, etag: &str, size: u64) -> Result<RemoteFile> {
    if let Some(hash) = file.hash.as_deref().filter(|h| *h != etag) {
        return Err(Error::Integrity {
            provider: PROVIDER,
            detail: format!("the cloud registered hash {}, not the local etag {etag}", shown(hash)),
        });
    }
    if let Some(stated) = file.size.filter(|s| *s != size) {
        return Err(Error::Integrity {
            provider: PROVIDER,
            detail: format!("the cloud registered {stated} bytes, not the {size} bytes sent"),
        });
    }
    Ok(RemoteFile { size, ..file.remote })
}

/// `base` + `/` + `path`, whether or not `base` ends in a slash.
pub(super) fn join(base: &url::Url, path: &str) -> Result<url::Url> {
    let text = format!("{}/{path}", base.as_str().trim_end_matches('/'));
    url::Url::parse(&text).map_err(|e| protocol(&format!("bad upload URL: {e}")))
}

fn protocol(detail: &str) -> Error {
    Error::Protocol {
        provider: PROVIDER,
        detail: detail.to_owned(),
    }
}
