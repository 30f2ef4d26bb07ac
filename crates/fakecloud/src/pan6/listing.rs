//! Listing a folder, one page at a time (`files/page` of both versions).

use rusqlite::{Connection, params};

use super::tree::{COLUMNS, Entry};
use crate::error::FakeCloudError;
use crate::store::to_i64;

/// Which entries a listing shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Files only (`type` 0).
    Files,
    /// Folders only (`type` 1).
    Dirs,
    /// Both (`type` -1, the default).
    Both,
}

/// The order of a listing: folders first, then by name (`orderBy` 0, the default) or newest first (1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    /// By name.
    Name,
    /// By modification time, newest first.
    Time,
}

/// One page of folder `parent` and the total count.
pub(crate) fn list(
    conn: &Connection,
    parent: &str,
    kind: Kind,
    order: Order,
    page: u64,
    size: u64,
) -> Result<(Vec<Entry>, u64), FakeCloudError> {
    let filter = match kind {
        Kind::Files => " AND is_dir = 0",
        Kind::Dirs => " AND is_dir = 1",
        Kind::Both => "",
    };
    let order = match order {
        Order::Name => "is_dir DESC, name ASC",
        Order::Time => "is_dir DESC, mtime_ms DESC, name ASC",
    };
    let total: i64 = conn.query_row(
        &format!("SELECT COUNT(*) FROM pan6_entries WHERE parent = ?1{filter}"),
        params![parent],
        |r| r.get(0),
    )?;
    let mut stmt = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM pan6_entries WHERE parent = ?1{filter} ORDER BY {order} LIMIT ?2 OFFSET ?3"
    ))?;
    let offset = page.saturating_sub(1).saturating_mul(size);
    let rows = stmt.query_map(params![parent, to_i64(size)?, to_i64(offset)?], Entry::from_row)?;
    Ok((rows.collect::<Result<_, _>>()?, u64::try_from(total).unwrap_or(0)))
}
