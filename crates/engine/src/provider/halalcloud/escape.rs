//! RFC 3986 percent-encoding, shared by the signer's canonical query (spec §4 step 4) and magnet links.

/// Percent-encodes every byte of `bytes` except the RFC 3986 unreserved set (`A-Z a-z 0-9 - . _ ~`), with
/// upper-case hex digits.
///
/// This is what the SDK's `url.QueryEscape` followed by `+` → `%20` produces, and what magnet consumers
/// expect inside `dn` and `tr` values (a tracker URL's own `:`, `/`, `?` and `&` must not end its parameter).
pub(super) fn rfc3986(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::rfc3986;

    #[test]
    fn keeps_only_unreserved() {
        assert_eq!(rfc3986(b"aZ09-._~"), "aZ09-._~");
        assert_eq!(rfc3986(b"a b+c/d?e&f=g"), "a%20b%2Bc%2Fd%3Fe%26f%3Dg");
        assert_eq!(rfc3986("文".as_bytes()), "%E6%96%87");
        assert_eq!(rfc3986(b"\x00\xff"), "%00%FF");
    }
}
