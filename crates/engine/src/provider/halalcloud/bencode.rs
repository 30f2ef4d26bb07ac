//! A small, strict bencode reader (BEP 3), enough to find a torrent's `info` dictionary and a few fields.
//!
//! It builds no tree: [`parse`] checks the whole input once and hands back the top value as a byte span;
//! lists and dictionaries are walked again on demand ([`Item::entries`], [`Item::elements`]), which keeps
//! memory flat however many tiny values a hostile file packs in. What it refuses, and why:
//!
//! * anything after the top value, and values that run past the end;
//! * string lengths and integers with leading zeros, `-0`, empty digits, or values out of range: BEP 3
//!   forbids them, and a lenient reader could see a different `info` span than another client;
//! * dictionary keys out of order or repeated: BEP 3 demands sorted keys, and a repeated `info` would be
//!   ambiguous (sortedness is checked against the previous key, so no key set is kept);
//! * nesting deeper than [`MAX_DEPTH`], which would otherwise exhaust the stack.

/// The deepest nesting of lists and dictionaries accepted; real torrents use four or five levels.
pub(super) const MAX_DEPTH: usize = 64;

/// Why the input is not strict bencode: a rule in words and the byte offset it broke at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Malformed {
    /// Where, counted from the start of the input.
    pub offset: usize,
    /// The rule, in words for a user.
    pub rule: &'static str,
}

/// What a value is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind<'a> {
    /// An integer.
    Int(i64),
    /// A byte string.
    Bytes(&'a [u8]),
    /// A list; walk it with [`Item::elements`].
    List,
    /// A dictionary; walk it with [`Item::entries`].
    Dict,
}

/// One checked value and the exact bytes it was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Item<'a> {
    /// The value's own bytes, from its first to its last (for a dictionary, `d` … `e`).
    pub raw: &'a [u8],
    /// What it is.
    pub kind: Kind<'a>,
}

impl<'a> Item<'a> {
    /// A dictionary's `(key, value)` pairs in file order; nothing for other kinds.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a [u8], Item<'a>)> + use<'a> {
        let mut reader = Reader::new(if self.kind == Kind::Dict { self.raw } else { &[] });
        reader.pos = 1;
        std::iter::from_fn(move || {
            if reader.peek()? == b'e' {
                return None;
            }
            // The span passed `parse` already, so reading it again cannot fail; stop quietly if it did.
            let key = reader.value(0).ok()?;
            let value = reader.value(0).ok()?;
            match key.kind {
                Kind::Bytes(key) => Some((key, value)),
                _ => None,
            }
        })
    }

    /// A list's elements in order; nothing for other kinds.
    pub(super) fn elements(&self) -> impl Iterator<Item = Item<'a>> + use<'a> {
        let mut reader = Reader::new(if self.kind == Kind::List { self.raw } else { &[] });
        reader.pos = 1;
        std::iter::from_fn(move || if reader.peek()? == b'e' { None } else { reader.value(0).ok() })
    }

    /// The value under `key` in a dictionary.
    pub(super) fn get(&self, key: &[u8]) -> Option<Item<'a>> {
        self.entries().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The bytes of a byte string.
    pub(super) fn as_bytes(&self) -> Option<&'a [u8]> {
        match self.kind {
            Kind::Bytes(bytes) => Some(bytes),
            _ => None,
        }
    }
}

/// Checks that `input` is exactly one strict bencode value and returns it.
pub(super) fn parse(input: &[u8]) -> Result<Item<'_>, Malformed> {
    let mut reader = Reader::new(input);
    let item = reader.value(0)?;
    if reader.pos != input.len() {
        return Err(reader.fail("there is data after the end of the top-level value"));
    }
    Ok(item)
}

/// A cursor over the input.
struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    fn fail(&self, rule: &'static str) -> Malformed {
        Malformed { offset: self.pos, rule }
    }

    fn peek(&self) -> Option<u8> {
        self.input.get(self.pos).copied()
    }

    /// The next byte, or "ends early".
    fn next_byte(&mut self) -> Result<u8, Malformed> {
        let byte = self.peek().ok_or_else(|| self.fail("the data ends in the middle of a value"))?;
        self.pos += 1;
        Ok(byte)
    }

    /// Reads one value at nesting `depth` (0 for one not inside a list or dictionary).
    fn value(&mut self, depth: usize) -> Result<Item<'a>, Malformed> {
        let start = self.pos;
        let kind = match self.peek() {
            None => return Err(self.fail("the data ends in the middle of a value")),
            Some(b'i') => {
                self.pos += 1;
                Kind::Int(self.integer(b'e')?)
            }
            Some(b'0'..=b'9') => Kind::Bytes(self.bytes()?),
            Some(b'l') | Some(b'd') if depth >= MAX_DEPTH => {
                return Err(self.fail("lists and dictionaries are nested more than 64 deep"));
            }
            Some(b'l') => {
                self.pos += 1;
                while self.peek() != Some(b'e') {
                    self.value(depth + 1)?;
                }
                self.pos += 1;
                Kind::List
            }
            Some(b'd') => {
                self.pos += 1;
                let mut previous: Option<&[u8]> = None;
                while self.peek() != Some(b'e') {
                    let key_at = self.pos;
                    if !matches!(self.peek(), Some(b'0'..=b'9')) {
                        // Distinguish a cut-off dictionary from a non-string key.
                        self.next_byte()?;
                        self.pos = key_at;
                        return Err(self.fail("a dictionary key is not a string"));
                    }
                    let key = self.bytes()?;
                    if previous.is_some_and(|p| p >= key) {
                        self.pos = key_at;
                        return Err(self.fail("dictionary keys are not in sorted order, or repeat"));
                    }
                    previous = Some(key);
                    self.value(depth + 1)?;
                }
                self.pos += 1;
                Kind::Dict
            }
            Some(_) => return Err(self.fail("a value starts with a byte that is not `i`, `l`, `d` or a digit")),
        };
        Ok(Item {
            raw: &self.input[start..self.pos],
            kind,
        })
    }

    /// A byte string `<length>:<bytes>`.
    fn bytes(&mut self) -> Result<&'a [u8], Malformed> {
        let at = self.pos;
        let len = self.integer(b':')?;
        let len = usize::try_from(len).map_err(|_| Malformed {
            offset: at,
            rule: "a string length is negative",
        })?;
        let end = self.pos.checked_add(len).filter(|&end| end <= self.input.len()).ok_or(Malformed {
            offset: at,
            rule: "a string's length runs past the end of the data",
        })?;
        let bytes = &self.input[self.pos..end];
        self.pos = end;
        Ok(bytes)
    }

    /// Decimal digits with an optional `-`, up to `terminator`: no leading zeros, no `-0`, within `i64`.
    fn integer(&mut self, terminator: u8) -> Result<i64, Malformed> {
        let start = self.pos;
        let bad = |rule| Malformed { offset: start, rule };
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits_at = self.pos;
        let mut value: i64 = 0;
        loop {
            match self.next_byte()? {
                b @ b'0'..=b'9' => {
                    let digit = i64::from(b - b'0');
                    // Accumulate negatively so i64::MIN fits.
                    value = value
                        .checked_mul(10)
                        .and_then(|v| if negative { v.checked_sub(digit) } else { v.checked_add(digit) })
                        .ok_or(bad("a number does not fit in 64 bits"))?;
                }
                b if b == terminator => break,
                _ => return Err(bad("a number holds something other than digits")),
            }
        }
        let digits = &self.input[digits_at..self.pos - 1];
        match digits {
            [] => Err(bad("a number has no digits")),
            [b'0', _, ..] => Err(bad("a number has a leading zero")),
            [b'0'] if negative => Err(bad("a number is written as -0")),
            _ => Ok(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(input: &[u8]) -> &'static str {
        parse(input).unwrap_err().rule
    }

    #[test]
    fn reads_every_kind() {
        let item = parse(b"d3:agei-42e4:listl1:ai0ee4:name3:abce").unwrap();
        assert_eq!(item.kind, Kind::Dict);
        let keys: Vec<&[u8]> = item.entries().map(|(k, _)| k).collect();
        assert_eq!(keys, [&b"age"[..], b"list", b"name"]);
        assert_eq!(item.get(b"age").unwrap().kind, Kind::Int(-42));
        assert_eq!(item.get(b"name").unwrap().as_bytes(), Some(&b"abc"[..]));
        let list = item.get(b"list").unwrap();
        assert_eq!(list.raw, b"l1:ai0ee");
        let elements: Vec<Kind<'_>> = list.elements().map(|e| e.kind).collect();
        assert_eq!(elements, [Kind::Bytes(b"a"), Kind::Int(0)]);
        assert!(item.get(b"missing").is_none());
        assert_eq!(parse(b"0:").unwrap().kind, Kind::Bytes(b""));
        assert_eq!(parse(b"le").unwrap().elements().count(), 0);
        assert_eq!(parse(b"de").unwrap().entries().count(), 0);
        assert_eq!(parse(b"i-9223372036854775808e").unwrap().kind, Kind::Int(i64::MIN));
        assert_eq!(parse(b"i9223372036854775807e").unwrap().kind, Kind::Int(i64::MAX));
    }

    #[test]
    fn spans_are_exact() {
        let input = b"d4:infod4:name1:xe1:zi1ee";
        let info = parse(input).unwrap().get(b"info").unwrap();
        assert_eq!(info.raw, b"d4:name1:xe");
    }

    #[test]
    fn refuses_what_bep3_forbids() {
        assert_eq!(rule(b""), "the data ends in the middle of a value");
        assert_eq!(rule(b"d4:info"), "the data ends in the middle of a value");
        assert_eq!(rule(b"l"), "the data ends in the middle of a value");
        assert_eq!(rule(b"i12"), "the data ends in the middle of a value");
        assert_eq!(rule(b"5:abc"), "a string's length runs past the end of the data");
        assert_eq!(rule(b"18446744073709551616:x"), "a number does not fit in 64 bits");
        assert_eq!(rule(b"03:abc"), "a number has a leading zero");
        assert_eq!(rule(b"-1:a"), "a value starts with a byte that is not `i`, `l`, `d` or a digit");
        assert_eq!(rule(b"ie"), "a number has no digits");
        assert_eq!(rule(b"i-e"), "a number has no digits");
        assert_eq!(rule(b"i-0e"), "a number is written as -0");
        assert_eq!(rule(b"i01e"), "a number has a leading zero");
        assert_eq!(rule(b"i1.5e"), "a number holds something other than digits");
        assert_eq!(rule(b"i9223372036854775808e"), "a number does not fit in 64 bits");
        assert_eq!(rule(b"i1ei2e"), "there is data after the end of the top-level value");
        assert_eq!(rule(b"x"), "a value starts with a byte that is not `i`, `l`, `d` or a digit");
        assert_eq!(rule(b"di1e1:ae"), "a dictionary key is not a string");
        assert_eq!(rule(b"d1:bi1e1:ai2ee"), "dictionary keys are not in sorted order, or repeat");
        assert_eq!(rule(b"d1:ai1e1:ai2ee"), "dictionary keys are not in sorted order, or repeat");
        let err = parse(b"d1:ai1e1:ai2ee").unwrap_err();
        assert_eq!(err.offset, 7, "points at the second key");
    }

    #[test]
    fn nesting_is_bounded() {
        let ok = [vec![b'l'; MAX_DEPTH], vec![b'e'; MAX_DEPTH]].concat();
        assert!(parse(&ok).is_ok());
        let deep = [vec![b'l'; MAX_DEPTH + 1], vec![b'e'; MAX_DEPTH + 1]].concat();
        assert_eq!(rule(&deep), "lists and dictionaries are nested more than 64 deep");
        // Far deeper than any stack could recurse: refused at level 65 without recursing further.
        let hostile = vec![b'l'; 1 << 20];
        assert_eq!(parse(&hostile).unwrap_err().offset, MAX_DEPTH);
    }

    #[test]
    fn walking_other_kinds_yields_nothing() {
        let item = parse(b"3:abc").unwrap();
        assert_eq!(item.entries().count(), 0);
        assert_eq!(item.elements().count(), 0);
        assert!(item.get(b"abc").is_none());
    }
}
