//! `mkblk` and `bput`.
//!
//! A chunk is at most one block (4 MiB) and is read into memory whole, which bounds memory by
//! (parallel requests × 4 MiB); it is written to the block file before the reply.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;

use super::ctx::batch_digest;
use super::error::{WcsError, WcsResult};
use super::etag::BLOCK_SIZE;
use super::{ROUTE_BPUT, ROUTE_MKBLK, Wcs, upload_batch};
use crate::stats::BlockRequest;

/// Reads a chunk of 1..=`max` bytes (0 allowed only when `max` is 0).
async fn read_chunk(body: Body, max: u32) -> Result<bytes::Bytes, WcsError> {
    let limit = usize::try_from(max).unwrap_or(usize::MAX);
    let chunk = axum::body::to_bytes(body, limit)
        .await
        .map_err(|e| WcsError::bad_request(format!("chunk larger than the {max} bytes left in its block, or unreadable: {e}")))?;
    if chunk.is_empty() && max > 0 {
        return Err(WcsError::bad_request("empty chunk"));
    }
    Ok(chunk)
}

fn parse_u32(what: &str, text: &str) -> Result<u32, WcsError> {
    text.parse()
        .map_err(|_| WcsError::bad_request(format!("{what} must be a non-negative decimal integer, not {text:?}")))
}

/// `POST /mkblk/{blockSize}/{blockOrder}`: creates a block with its first chunk.
pub(crate) async fn mkblk(
    State(w): State<Arc<Wcs>>,
    Path((size, order)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> WcsResult {
    let policy = w.authorize(&headers)?;
    let size = parse_u32("blockSize", &size)?;
    let order = parse_u32("blockOrder", &order)?;
    if u64::from(size) > BLOCK_SIZE {
        return Err(WcsError::bad_request(format!("blockSize {size} is larger than {BLOCK_SIZE}")));
    }
    policy.check_size(u64::from(order) * BLOCK_SIZE + u64::from(size))?;
    let batch = upload_batch(&headers);
    w.stats.wcs_block(&batch, order, BlockRequest::Mkblk);
    let chunk = read_chunk(body, size).await?;
    w.stats.bytes(ROUTE_MKBLK, chunk.len() as u64);
    let wcs = Arc::clone(&w);
    let reply = w
        .store
        .blocking(move |store| wcs.blocks.make_block(store, &batch, order, size, &chunk))
        .await?;
    Ok(Json(reply).into_response())
}

/// `POST /bput/{ctx}/{nextChunkOffset}`: appends the next chunk of a block.
pub(crate) async fn bput(
    State(w): State<Arc<Wcs>>,
    Path((ctx, offset)): Path<(String, String)>,
    headers: HeaderMap,
    body: Body,
) -> WcsResult {
    w.authorize(&headers)?;
    let ctx = w.blocks.signer().decode(&ctx).map_err(|e| WcsError::bad_ctx(e.to_string()))?;
    let offset = parse_u32("nextChunkOffset", &offset)?;
    if offset != ctx.offset {
        return Err(WcsError::bad_ctx(format!(
            "nextChunkOffset {offset} does not match the ctx, which ends at {}",
            ctx.offset
        )));
    }
    let batch = upload_batch(&headers);
    if batch_digest(&batch) != ctx.batch {
        return Err(WcsError::bad_ctx("ctx belongs to another UploadBatch"));
    }
    w.stats.wcs_block(&batch, ctx.order, BlockRequest::Bput);
    let room = ctx.block_size - ctx.offset.min(ctx.block_size);
    if room == 0 {
        return Err(WcsError::bad_request("the block is already complete"));
    }
    let chunk = read_chunk(body, room).await?;
    w.stats.bytes(ROUTE_BPUT, chunk.len() as u64);
    let wcs = Arc::clone(&w);
    let reply = w.store.blocking(move |store| wcs.blocks.put_chunk(store, ctx, &chunk)).await?;
    Ok(Json(reply).into_response())
}
