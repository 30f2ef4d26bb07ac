//! A `.torrent` file as a magnet link, for the offline download (spec §5.4).
//!
//! No v6 field is known to carry torrent bytes, so the torrent travels as `magnet:?xt=urn:btih:<hex>` with
//! `dn` (the name) and one `tr` per tracker. The info-hash is the SHA-1 of the `info` dictionary's bytes
//! exactly as they appear in the file, which is why the bencode reader keeps byte spans instead of
//! re-encoding what it read.

use sha1::{Digest as _, Sha1};

use super::bencode::{self, Item, Kind};
use super::escape::rfc3986;
use crate::error::{Error, Result};

/// The largest `.torrent` accepted. Real ones stay well under a few MiB (a 100 GiB torrent with 4 MiB
/// pieces has 500 KiB of piece hashes); the bound keeps a hostile file from costing more than a read.
pub(crate) const MAX_TORRENT_SIZE: usize = 16 * 1024 * 1024;

/// What a magnet link says about a torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Magnet {
    /// SHA-1 of the bencoded `info` dictionary (BitTorrent v1 info-hash).
    pub info_hash: [u8; 20],
    /// The torrent's name, when it has one in UTF-8 (`name.utf-8`, else `name`).
    pub name: Option<String>,
    /// `announce` and then every `announce-list` entry, tier by tier, without repeats or empty entries.
    pub trackers: Vec<String>,
}

impl Magnet {
    /// The info-hash in lower-case hex, as `xt=urn:btih:` carries it.
    pub(crate) fn btih(&self) -> String {
        hex::encode(self.info_hash)
    }

    /// The `magnet:?xt=urn:btih:…[&dn=…][&tr=…]…` link, values RFC 3986-escaped.
    pub(crate) fn uri(&self) -> String {
        let mut uri = format!("magnet:?xt=urn:btih:{}", self.btih());
        if let Some(name) = &self.name {
            uri.push_str("&dn=");
            uri.push_str(&rfc3986(name.as_bytes()));
        }
        for tracker in &self.trackers {
            uri.push_str("&tr=");
            uri.push_str(&rfc3986(tracker.as_bytes()));
        }
        uri
    }
}

/// Reads the `.torrent` `bytes` of the file `file` (named in errors) into a [`Magnet`].
///
/// Refused, with [`Error::InvalidInput`] naming `file` and the rule: more than [`MAX_TORRENT_SIZE`] bytes,
/// anything that is not strict bencode (see [`bencode`]), a top level that is not a dictionary, an `info`
/// that is missing or not a dictionary, an `info` without v1 `pieces` (a v2-only torrent has no btih), and
/// trackers that are not (lists of lists of) UTF-8 strings.
///
/// A name that is not UTF-8 (a GBK-encoded one, say) is left out rather than refused: `dn` is only a display
/// hint, and the cloud reads the real name from the torrent's metadata.
pub(crate) fn magnet_from_torrent(file: &str, bytes: &[u8]) -> Result<Magnet> {
    let bad = |rule: String| Error::invalid(file, rule);
    if bytes.len() > MAX_TORRENT_SIZE {
        return Err(bad(format!(
            "a torrent file may be at most {} MiB; this one has {} bytes",
            MAX_TORRENT_SIZE >> 20,
            bytes.len()
        )));
    }
    let top = bencode::parse(bytes).map_err(|m| bad(format!("is not a valid torrent: {} (at byte {})", m.rule, m.offset)))?;
    if top.kind != Kind::Dict {
        return Err(bad("is not a valid torrent: the top level is not a dictionary".into()));
    }
    let info = top
        .get(b"info")
        .ok_or_else(|| bad("is not a valid torrent: it has no `info` dictionary".into()))?;
    if info.kind != Kind::Dict {
        return Err(bad("is not a valid torrent: `info` is not a dictionary".into()));
    }
    if info.get(b"pieces").and_then(|p| p.as_bytes()).is_none() {
        return Err(bad(
            "has no v1 `pieces` in `info`: a BitTorrent v2-only torrent has no btih info-hash to build a magnet link from".into(),
        ));
    }
    let info_hash: [u8; 20] = Sha1::digest(info.raw).into();
    let name = [b"name.utf-8".as_slice(), b"name"]
        .into_iter()
        .filter_map(|key| info.get(key)?.as_bytes())
        .find_map(|raw| std::str::from_utf8(raw).ok())
        .filter(|name| !name.is_empty())
        .map(str::to_owned);
    let trackers = trackers(&top).map_err(|rule| bad(rule.into()))?;
    Ok(Magnet { info_hash, name, trackers })
}

/// `announce` and every `announce-list` entry (BEP 12), first occurrence kept.
fn trackers(top: &Item<'_>) -> Result<Vec<String>, &'static str> {
    const NOT_UTF8: &str = "has a tracker URL that is not UTF-8";
    let mut found: Vec<String> = Vec::new();
    let mut add = |raw: &[u8]| -> Result<(), &'static str> {
        let url = std::str::from_utf8(raw).map_err(|_| NOT_UTF8)?.trim();
        if !url.is_empty() && !found.iter().any(|known| known == url) {
            found.push(url.to_owned());
        }
        Ok(())
    };
    if let Some(announce) = top.get(b"announce") {
        add(announce.as_bytes().ok_or("has an `announce` that is not a string")?)?;
    }
    if let Some(list) = top.get(b"announce-list") {
        if list.kind != Kind::List {
            return Err("has an `announce-list` that is not a list of tiers");
        }
        for tier in list.elements() {
            if tier.kind != Kind::List {
                return Err("has an `announce-list` tier that is not a list");
            }
            for entry in tier.elements() {
                add(entry.as_bytes().ok_or("has an `announce-list` entry that is not a string")?)?;
            }
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(bytes: &[u8]) -> String {
        match magnet_from_torrent("broken.torrent", bytes) {
            Err(Error::InvalidInput { subject, rule }) => {
                assert_eq!(subject, "broken.torrent");
                rule
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    fn sha1_hex(bytes: &[u8]) -> String {
        hex::encode(Sha1::digest(bytes))
    }

    /// A single-file torrent written by a tiny independent Python bencoder (sorted keys), with the btih
    /// and the magnet computed there too:
    ///
    /// ```text
    /// import hashlib, urllib.parse
    /// def benc(v):
    ///     if isinstance(v, int): return b"i%de" % v
    ///     if isinstance(v, str): v = v.encode()
    ///     if isinstance(v, bytes): return b"%d:%s" % (len(v), v)
    ///     if isinstance(v, list): return b"l" + b"".join(benc(x) for x in v) + b"e"
    ///     items = sorted((k.encode(), x) for k, x in v.items())
    ///     return b"d" + b"".join(benc(k) + benc(x) for k, x in items) + b"e"
    /// data = bytes(i % 251 for i in range(40000)); plen = 16384
    /// pieces = b"".join(hashlib.sha1(data[i:i+plen]).digest() for i in range(0, len(data), plen))
    /// info = {"length": len(data), "name": "PanDrop 测试.bin", "piece length": plen, "pieces": pieces}
    /// t = {"announce": "http://tracker.example.org:6969/announce",
    ///      "announce-list": [["http://tracker.example.org:6969/announce",
    ///                         "udp://tracker.example.net:1337/announce"],
    ///                        ["https://t.example.com/ann?key=a b&x=1"],
    ///                        ["udp://tracker.example.net:1337/announce"]],
    ///      "comment": "PanDrop test torrent", "created by": "hand", "creation date": 1735787045,
    ///      "info": info}
    /// hashlib.sha1(benc(t)).hexdigest()     # the whole file, to check the literal below
    /// hashlib.sha1(benc(info)).hexdigest()  # the btih
    /// q = lambda s: urllib.parse.quote(s, safe="-_.~")   # trackers deduplicated in order, then q(...)
    /// ```
    const PYTHON_TORRENT: &[u8] = b"d8:announce40:http://tracker.example.org:6969/announce13:announce-listll40:http://tracker.example.or\
g:6969/announce39:udp://tracker.example.net:1337/announceel37:https://t.example.com/ann?key=a b&x=1e\
l39:udp://tracker.example.net:1337/announceee7:comment20:PanDrop test torrent10:created by4:hand13:c\
reation datei1735787045e4:infod6:lengthi40000e4:name18:PanDrop \xe6\xb5\x8b\xe8\xaf\x95.bin12:piece \
lengthi16384e6:pieces60:h\xf3\xb8\x1a\x11\xde\x1e\x16)\xe8\x15U\xb4\xe7\x0a\xed\x95]\x11@\xde\x9e\
\xe0\",\xd5(\xef\xc5\xe0\x12'\xe4\xbf\x16\xcfj\xc6\x83j{\x9dg\xe1N\xd5\xa5\xe1i_\xacV\x11\x00K\x00\
\xd7m\xa5\xaeee";

    #[test]
    fn python_built_torrent() {
        assert_eq!(PYTHON_TORRENT.len(), 468);
        assert_eq!(sha1_hex(PYTHON_TORRENT), "25909f87f8c5f77e28a38f06b7ce0028c1694c92");
        let magnet = magnet_from_torrent("test.torrent", PYTHON_TORRENT).unwrap();
        assert_eq!(magnet.btih(), "90170fe6e79eede7610019fc30a4d2d16c691b7e");
        assert_eq!(magnet.name.as_deref(), Some("PanDrop 测试.bin"));
        assert_eq!(
            magnet.trackers,
            [
                "http://tracker.example.org:6969/announce",
                "udp://tracker.example.net:1337/announce",
                "https://t.example.com/ann?key=a b&x=1",
            ]
        );
        assert_eq!(
            magnet.uri(),
            "magnet:?xt=urn:btih:90170fe6e79eede7610019fc30a4d2d16c691b7e\
             &dn=PanDrop%20%E6%B5%8B%E8%AF%95.bin\
             &tr=http%3A%2F%2Ftracker.example.org%3A6969%2Fannounce\
             &tr=udp%3A%2F%2Ftracker.example.net%3A1337%2Fannounce\
             &tr=https%3A%2F%2Ft.example.com%2Fann%3Fkey%3Da%20b%26x%3D1"
        );
    }

    #[test]
    fn hand_built_minimal_torrent() {
        let info = b"d6:lengthi3e4:name5:a.txt12:piece lengthi16384e6:pieces20:aaaaaaaaaaaaaaaaaaaae";
        let torrent = [&b"d4:info"[..], info, b"e"].concat();
        let magnet = magnet_from_torrent("a.torrent", &torrent).unwrap();
        assert_eq!(magnet.btih(), sha1_hex(info));
        assert_eq!(magnet.uri(), format!("magnet:?xt=urn:btih:{}&dn=a.txt", sha1_hex(info)));
        assert!(magnet.trackers.is_empty());
    }

    /// Python (same `benc` as above): `info2 = {"files": [{"length": 3, "path": ["a", "b.txt"]},
    /// {"length": 5, "path": ["c.bin"]}], "name": b"\xb2\xe2\xca\xd4", "name.utf-8": "测试",
    /// "piece length": 16384, "pieces": b"\x01" * 20}`; `hashlib.sha1(benc(info2)).hexdigest()`.
    #[test]
    fn multi_file_prefers_name_utf8() {
        let torrent = b"d4:infod5:filesld6:lengthi3e4:pathl1:a5:b.txteed6:lengthi5e4:pathl5:c.bineee4:name4:\xb2\xe2\xca\xd4\
10:name.utf-86:\xe6\xb5\x8b\xe8\xaf\x9512:piece lengthi16384e6:pieces20:\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01\
\x01\x01\x01\x01\x01\x01\x01\x01\x01\x01ee";
        let magnet = magnet_from_torrent("multi.torrent", torrent).unwrap();
        assert_eq!(magnet.btih(), "e8f5e0d9a2f7eb1f4316aec9a742cbd570c1d213");
        assert_eq!(magnet.name.as_deref(), Some("测试"));
    }

    /// Python: `info3 = {"length": 3, "name": b"\xb2\xe2\xca\xd4", "piece length": 16384,
    /// "pieces": b"\x02" * 20}` (a GBK name and nothing else).
    #[test]
    fn non_utf8_name_is_left_out() {
        let torrent = b"d4:infod6:lengthi3e4:name4:\xb2\xe2\xca\xd412:piece lengthi16384e6:pieces20:\
\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02ee";
        let magnet = magnet_from_torrent("gbk.torrent", torrent).unwrap();
        assert_eq!(magnet.btih(), "212c9933a5ed9ea36b3d4b29c99ad61721e265ca");
        assert_eq!(magnet.name, None);
        assert_eq!(magnet.uri(), "magnet:?xt=urn:btih:212c9933a5ed9ea36b3d4b29c99ad61721e265ca");
    }

    #[test]
    fn trackers_are_deduplicated_and_blank_ones_dropped() {
        let torrent = b"d8:announce5:udp:a13:announce-listll5:udp:a5:udp:bel0:2:  el5:udp:bee\
4:infod4:name1:x6:pieces0:ee";
        let magnet = magnet_from_torrent("t.torrent", torrent).unwrap();
        assert_eq!(magnet.trackers, ["udp:a", "udp:b"]);
        assert!(magnet.uri().ends_with("&dn=x&tr=udp%3Aa&tr=udp%3Ab"));
    }

    #[test]
    fn malformed_torrents_name_the_rule() {
        let cases: [(&[u8], &str); 13] = [
            (b"d4:infod4:name1:x6:pieces0:e", "ends in the middle of a value"),
            (b"d4:infod4:name99:x6:pieces0:ee", "length runs past the end"),
            (b"d4:infod4:name1:x6:pieces0:eee", "data after the end"),
            (b"d4:infod4:name01:x6:pieces0:ee", "leading zero"),
            (b"li1ee", "the top level is not a dictionary"),
            (b"d4:name1:xe", "has no `info` dictionary"),
            (b"d4:infoi1ee", "`info` is not a dictionary"),
            (b"d4:infod4:name1:xee", "v2-only torrent"),
            (b"d4:infod6:pieces0:4:name1:xee", "not in sorted order"),
            (b"d8:announcei1e4:infod6:pieces0:ee", "`announce` that is not a string"),
            (b"d13:announce-list3:abc4:infod6:pieces0:ee", "not a list of tiers"),
            (b"d13:announce-listl3:abce4:infod6:pieces0:ee", "tier that is not a list"),
            (b"d8:announce2:\xff\xfe4:infod6:pieces0:ee", "not UTF-8"),
        ];
        for (bytes, expected) in cases {
            let rule = rule(bytes);
            assert!(rule.contains(expected), "{:?}: {rule}", String::from_utf8_lossy(bytes));
        }
        let entry = rule(b"d13:announce-listlli1eee4:infod6:pieces0:ee");
        assert!(entry.contains("entry that is not a string"), "{entry}");
        let deep = [&b"d1:a"[..], &[b'l'; 70], &[b'e'; 70], b"4:infod6:pieces0:ee"].concat();
        assert!(rule(&deep).contains("nested more than 64 deep"));
    }

    #[test]
    fn size_is_bounded() {
        let mut huge = b"d7:comment16777216:".to_vec();
        huge.resize(huge.len() + MAX_TORRENT_SIZE, b'x');
        huge.extend_from_slice(b"4:infod6:pieces0:ee");
        let rule = rule(&huge);
        assert!(rule.contains("at most 16 MiB"), "{rule}");
    }
}
