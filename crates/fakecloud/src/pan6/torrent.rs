//! A small, strict bencode parser and the `.torrent` metainfo (BEP 3) this server needs: name, files and
//! the info hash (SHA-1 of the exact bytes of the `info` dictionary).

use sha1::{Digest, Sha1};

/// Deepest nesting accepted (real torrents use 4 or 5 levels).
const MAX_DEPTH: usize = 64;

/// A bencoded value borrowing from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bencode<'a> {
    /// `i…e`.
    Int(i64),
    /// `<len>:<bytes>`.
    Bytes(&'a [u8]),
    /// `l…e`.
    List(Vec<Bencode<'a>>),
    /// `d…e`: key, value and the byte range of the value in the input.
    Dict(Vec<(&'a [u8], Bencode<'a>, std::ops::Range<usize>)>),
}

/// Why some bytes are not a usable torrent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum TorrentError {
    /// Not bencode.
    #[error("not bencode: {0} at byte {1}")]
    Syntax(&'static str, usize),
    /// Bencode, but not a torrent.
    #[error("not a torrent: {0}")]
    Meta(&'static str),
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, what: &'static str) -> TorrentError {
        TorrentError::Syntax(what, self.pos)
    }

    fn digits(&mut self, end: u8) -> Result<&'a [u8], TorrentError> {
        let start = self.pos;
        let len = self.data[start..]
            .iter()
            .position(|&b| b == end)
            .ok_or_else(|| self.err("unterminated number"))?;
        self.pos = start + len + 1;
        Ok(&self.data[start..start + len])
    }

    fn value(&mut self, depth: usize) -> Result<Bencode<'a>, TorrentError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deeply"));
        }
        match self.data.get(self.pos).copied() {
            Some(b'i') => {
                self.pos += 1;
                let text = self.digits(b'e')?;
                let valid = match text {
                    [b'0'] => true,
                    [b'-', b'1'..=b'9', rest @ ..] | [b'1'..=b'9', rest @ ..] => rest.iter().all(u8::is_ascii_digit),
                    _ => false,
                };
                let n = std::str::from_utf8(text).ok().filter(|_| valid).and_then(|t| t.parse().ok());
                n.map(Bencode::Int).ok_or_else(|| self.err("bad integer"))
            }
            Some(b'0'..=b'9') => {
                let text = self.digits(b':')?;
                if text.len() > 1 && text[0] == b'0' || !text.iter().all(u8::is_ascii_digit) {
                    return Err(self.err("bad string length"));
                }
                let len: usize = std::str::from_utf8(text)
                    .ok()
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(|| self.err("bad string length"))?;
                let end = self
                    .pos
                    .checked_add(len)
                    .filter(|&e| e <= self.data.len())
                    .ok_or_else(|| self.err("string past the end"))?;
                let bytes = &self.data[self.pos..end];
                self.pos = end;
                Ok(Bencode::Bytes(bytes))
            }
            Some(b'l') => {
                self.pos += 1;
                let mut items = Vec::new();
                while self.data.get(self.pos) != Some(&b'e') {
                    items.push(self.value(depth + 1)?);
                }
                self.pos += 1;
                Ok(Bencode::List(items))
            }
            Some(b'd') => {
                self.pos += 1;
                let mut entries = Vec::new();
                while self.data.get(self.pos) != Some(&b'e') {
                    let Bencode::Bytes(key) = self.value(depth + 1)? else {
                        return Err(self.err("dictionary key is not a string"));
                    };
                    let start = self.pos;
                    let value = self.value(depth + 1)?;
                    entries.push((key, value, start..self.pos));
                }
                self.pos += 1;
                Ok(Bencode::Dict(entries))
            }
            Some(_) => Err(self.err("unexpected byte")),
            None => Err(self.err("unexpected end")),
        }
    }
}

/// Parses one complete bencoded value (trailing bytes are an error).
pub(crate) fn parse(data: &[u8]) -> Result<Bencode<'_>, TorrentError> {
    let mut p = Parser { data, pos: 0 };
    let value = p.value(0)?;
    if p.pos != data.len() {
        return Err(p.err("trailing bytes"));
    }
    Ok(value)
}

impl<'a> Bencode<'a> {
    fn get(&self, key: &str) -> Option<&Bencode<'a>> {
        match self {
            Self::Dict(entries) => entries.iter().find(|(k, ..)| *k == key.as_bytes()).map(|(_, v, _)| v),
            _ => None,
        }
    }

    fn text(&self) -> Option<String> {
        match self {
            Self::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    fn size(&self) -> Option<u64> {
        match self {
            Self::Int(n) => u64::try_from(*n).ok(),
            _ => None,
        }
    }
}

/// One file of a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TorrentFile {
    /// Path inside the torrent, `/`-separated (for a single-file torrent: its name).
    pub(crate) path: String,
    /// Bytes.
    pub(crate) size: u64,
}

/// What a torrent describes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Torrent {
    /// `info.name` (`name.utf-8` preferred).
    pub(crate) name: String,
    /// SHA-1 of the `info` dictionary, lower-case hex.
    pub(crate) info_hash: String,
    /// The files, in torrent order.
    pub(crate) files: Vec<TorrentFile>,
}

impl Torrent {
    /// Total bytes.
    pub(crate) fn size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// Reads a `.torrent` file.
pub(crate) fn parse_torrent(data: &[u8]) -> Result<Torrent, TorrentError> {
    let root = parse(data)?;
    let Bencode::Dict(entries) = &root else {
        return Err(TorrentError::Meta("the top level is not a dictionary"));
    };
    let (_, info, span) = entries
        .iter()
        .find(|(k, ..)| *k == b"info")
        .ok_or(TorrentError::Meta("no info dictionary"))?;
    if !matches!(info, Bencode::Dict(_)) {
        return Err(TorrentError::Meta("info is not a dictionary"));
    }
    let name = info
        .get("name.utf-8")
        .or_else(|| info.get("name"))
        .and_then(Bencode::text)
        .filter(|n| !n.is_empty())
        .ok_or(TorrentError::Meta("info has no name"))?;
    if info.get("piece length").and_then(Bencode::size).is_none_or(|n| n == 0) || !matches!(info.get("pieces"), Some(Bencode::Bytes(_))) {
        return Err(TorrentError::Meta("info has no pieces"));
    }
    let files = match (info.get("length"), info.get("files")) {
        (Some(len), None) => vec![TorrentFile {
            path: name.clone(),
            size: len.size().ok_or(TorrentError::Meta("bad length"))?,
        }],
        (None, Some(Bencode::List(list))) if !list.is_empty() => list
            .iter()
            .map(|f| {
                let size = f
                    .get("length")
                    .and_then(Bencode::size)
                    .ok_or(TorrentError::Meta("a file has no length"))?;
                let Some(Bencode::List(parts)) = f.get("path.utf-8").or_else(|| f.get("path")) else {
                    return Err(TorrentError::Meta("a file has no path"));
                };
                let parts: Vec<String> = parts.iter().filter_map(Bencode::text).collect();
                if parts.is_empty() || parts.iter().any(|p| p.is_empty() || p == ".." || p.contains('/')) {
                    return Err(TorrentError::Meta("a file has an invalid path"));
                }
                Ok(TorrentFile {
                    path: parts.join("/"),
                    size,
                })
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(TorrentError::Meta("info needs either length or a non-empty files list")),
    };
    Ok(Torrent {
        name,
        info_hash: hex::encode(Sha1::digest(&data[span.clone()])),
        files,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bencode_rules() {
        assert_eq!(parse(b"i-3e").unwrap(), Bencode::Int(-3));
        for bad in [
            &b"i03e"[..],
            b"i-0e",
            b"ie",
            b"03:abc",
            b"4:abc",
            b"l",
            b"d1:ae",
            b"i1ei2e",
            b"di1ei2ee",
            b"x",
        ] {
            assert!(parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let deep = format!("{}{}", "l".repeat(100), "e".repeat(100));
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn torrents() {
        let info: Vec<u8> = concat!(
            "d5:filesl",
            "d6:lengthi3e4:pathl1:a5:b.binee",
            "d6:lengthi4e4:pathl3:c.xee",
            "e4:name3:dir12:piece lengthi16384e6:pieces20:AAAAAAAAAAAAAAAAAAAAe"
        )
        .into();
        let mut data = b"d8:announce9:http://x/4:info".to_vec();
        data.extend_from_slice(&info);
        data.push(b'e');
        let t = parse_torrent(&data).unwrap();
        assert_eq!(t.name, "dir");
        assert_eq!(
            t.files,
            [
                TorrentFile {
                    path: "a/b.bin".into(),
                    size: 3
                },
                TorrentFile {
                    path: "c.x".into(),
                    size: 4
                }
            ]
        );
        assert_eq!(t.size(), 7);
        assert_eq!(t.info_hash, hex::encode(Sha1::digest(&info)));
        assert!(parse_torrent(b"d4:infod4:name1:xee").is_err());
        assert!(parse_torrent(b"hello").is_err());
    }
}
