//! One part of a file on its way to a cloud: where its bytes are, and a counter of how many were sent.

use bytes::Bytes;
use futures::{Stream, StreamExt};
use std::io::SeekFrom;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use tokio_util::io::ReaderStream;

use crate::error::{Error, Result};
use crate::hash::Md5;
use crate::http::ByteRate;

/// Chunk size of request bodies: small enough for smooth progress, large enough to keep syscalls rare.
const BODY_CHUNK: usize = 256 * 1024;

/// A byte range of a local file, sent as one request body.
///
/// Each attempt to send it restarts the `sent` counter, so progress never counts a retried byte twice.
#[derive(Debug, Clone)]
pub struct PartBody {
    /// 0-based part index.
    pub index: u32,
    /// Offset of the part in the file.
    pub offset: u64,
    /// Length of the part.
    pub len: u64,
    /// The file the bytes come from.
    pub path: PathBuf,
    /// The part's MD5 if the hashing pass already computed it.
    pub md5: Option<String>,
    sent: Arc<AtomicU64>,
    rate: ByteRate,
}

impl PartBody {
    /// Describes part `index` at `offset..offset+len` of `path`.
    pub fn new(index: u32, offset: u64, len: u64, path: PathBuf, md5: Option<String>) -> Self {
        Self {
            index,
            offset,
            len,
            path,
            md5,
            sent: Arc::default(),
            rate: ByteRate::unlimited(),
        }
    }

    /// Paces this part's bodies by the shared upload rate.
    pub fn with_rate(mut self, rate: ByteRate) -> Self {
        self.rate = rate;
        self
    }

    /// Bytes of this part handed to the network in the current attempt.
    pub fn sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Reads the whole part into memory (bounded by the part size).
    pub async fn read(&self) -> Result<Bytes> {
        let io = |e| Error::io(&self.path, e);
        let mut file = tokio::fs::File::open(&self.path).await.map_err(io)?;
        file.seek(SeekFrom::Start(self.offset)).await.map_err(io)?;
        let len = usize::try_from(self.len).map_err(|_| Error::invalid(self.path.display().to_string(), "part too large for memory"))?;
        let mut buf = vec![0u8; len];
        file.read_exact(&mut buf).await.map_err(|e| self.changed_or(e))?;
        Ok(Bytes::from(buf))
    }

    /// Reads the part and returns it with its MD5 (the precomputed one when known), hashing off the runtime.
    pub async fn read_with_md5(&self) -> Result<(Bytes, String)> {
        let data = self.read().await?;
        if let Some(md5) = &self.md5 {
            return Ok((data, md5.clone()));
        }
        let for_hash = data.clone();
        let md5 = tokio::task::spawn_blocking(move || {
            let mut h = Md5::new();
            h.update(&for_hash);
            h.finish_hex()
        })
        .await
        .map_err(|e| Error::io(&self.path, std::io::Error::other(e)))?;
        Ok((data, md5))
    }

    /// A request body over bytes already in memory, counting what is sent.
    pub fn body_from(&self, data: Bytes) -> reqwest::Body {
        self.body_from_at(data, 0)
    }

    /// Like [`PartBody::body_from`] for a piece that starts `base` bytes into the part (a chunk of a block):
    /// the counter restarts at `base`, so progress stays absolute across the part's requests.
    pub fn body_from_at(&self, data: Bytes, base: u64) -> reqwest::Body {
        self.sent.store(base, Ordering::Relaxed);
        let chunks = (0..data.len()).step_by(BODY_CHUNK).map(move |start| {
            let end = (start + BODY_CHUNK).min(data.len());
            Ok::<_, std::io::Error>(data.slice(start..end))
        });
        reqwest::Body::wrap_stream(self.counted(futures::stream::iter(chunks)))
    }

    /// A request body streamed from disk, counting what is sent; memory stays at one chunk.
    ///
    /// Synchronous so that a request can be rebuilt for every retry without an async factory.
    pub fn body_from_file(&self) -> Result<reqwest::Body> {
        use std::io::Seek;
        self.sent.store(0, Ordering::Relaxed);
        let io = |e| Error::io(&self.path, e);
        let mut file = std::fs::File::open(&self.path).map_err(io)?;
        // A file that lost bytes since it was hashed cannot fill the part: say so instead of sending a short body.
        if file.metadata().map_err(io)?.len() < self.offset + self.len {
            return Err(self.shorter());
        }
        file.seek(SeekFrom::Start(self.offset)).map_err(io)?;
        let file = tokio::fs::File::from_std(file);
        let stream = ReaderStream::with_capacity(file.take(self.len), BODY_CHUNK);
        Ok(reqwest::Body::wrap_stream(self.counted(full_length(stream, self.len))))
    }

    fn counted<S>(&self, stream: S) -> impl Stream<Item = std::io::Result<Bytes>> + use<S>
    where
        S: Stream<Item = std::io::Result<Bytes>>,
    {
        let sent = Arc::clone(&self.sent);
        let rate = self.rate.clone();
        stream
            .then(move |chunk| {
                let rate = rate.clone();
                async move {
                    if let Ok(chunk) = &chunk {
                        rate.take(chunk.len()).await;
                    }
                    chunk
                }
            })
            .inspect(move |chunk| {
                if let Ok(chunk) = chunk {
                    sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                }
            })
    }

    fn changed_or(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.shorter()
        } else {
            Error::io(&self.path, e)
        }
    }

    fn shorter(&self) -> Error {
        Error::invalid(self.path.display().to_string(), "the file became shorter after it was hashed")
    }
}

/// Passes `stream` through, ending it with an error when it ends before `len` bytes (the file shrank while
/// it was read), so the request fails instead of announcing more bytes than it sends.
fn full_length<S>(stream: S, len: u64) -> impl Stream<Item = std::io::Result<Bytes>>
where
    S: Stream<Item = std::io::Result<Bytes>>,
{
    let tail = futures::stream::once(futures::future::ready(None));
    let seen = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&seen);
    stream
        .map(move |chunk| {
            if let Ok(chunk) = &chunk {
                counter.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            Some(chunk)
        })
        .chain(tail)
        .filter_map(move |item| {
            let short = item.is_none() && seen.load(Ordering::Relaxed) < len;
            async move {
                match item {
                    Some(chunk) => Some(chunk),
                    None if short => Some(Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the file became shorter after it was hashed",
                    ))),
                    None => None,
                }
            }
        })
}
