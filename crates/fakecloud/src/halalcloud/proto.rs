//! The protojson dialect of the v6 API (spec §2), read strictly and written the way protojson writes it.
//!
//! Reading: the body must be a JSON object (an empty body counts as `{}`); field names are snake_case;
//! `null` and the zero value of a field mean "absent". **int64 fields must be JSON strings of decimal digits**:
//! a JSON number there is refused with code 3 (HTTP 400), although the real service probably accepts both
//! (spec §2 \[I\]), so that a client relying on numbers fails here. String fields must be JSON strings
//! (no int32 or bool request field is read). Unknown fields are ignored (grpc-gateway's default).
//!
//! Writing: [`Obj`] leaves out every field holding its zero value (`""`, 0, `false`, an empty list), as
//! protojson does by default, and writes int64 values as JSON strings.

use serde_json::{Map, Value};

use super::status::HalalError;

/// The fields of a request body.
#[derive(Debug, Default, Clone)]
pub(crate) struct Msg(Map<String, Value>);

/// Parses a request body (already known to be `application/json`).
pub(crate) fn parse(body: &[u8]) -> Result<Msg, HalalError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Msg::default());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Msg(map)),
        Ok(_) => Err(HalalError::invalid("the request body must be a JSON object")),
        Err(e) => Err(HalalError::invalid(format!("the request body is not valid JSON: {e}"))),
    }
}

impl Msg {
    fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A string field; `""` counts as absent.
    pub(crate) fn str(&self, key: &str) -> Result<Option<String>, HalalError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok((!s.is_empty()).then(|| s.clone())),
            Some(other) => Err(HalalError::invalid(format!("field {key} must be a JSON string, not {other}"))),
        }
    }

    /// A required string field.
    pub(crate) fn required_str(&self, key: &str) -> Result<String, HalalError> {
        self.str(key)?
            .ok_or_else(|| HalalError::invalid(format!("field {key} is required")))
    }

    /// An int64 field: a JSON string holding a decimal integer. A JSON number is refused.
    pub(crate) fn int64(&self, key: &str) -> Result<Option<i64>, HalalError> {
        match self.value(key) {
            None => Ok(None),
            Some(Value::String(s)) => parse_int64(s)
                .map(Some)
                .ok_or_else(|| HalalError::invalid(format!("field {key} is not a decimal int64: {s:?}"))),
            Some(Value::Number(n)) => Err(HalalError::invalid(format!(
                "field {key} is an int64 and must be sent as a JSON string (\"{n}\"), not as a number"
            ))),
            Some(other) => Err(HalalError::invalid(format!("field {key} must be an int64 string, not {other}"))),
        }
    }

    /// A nested message field; absent gives an empty message.
    pub(crate) fn msg(&self, key: &str) -> Result<Msg, HalalError> {
        match self.value(key) {
            None => Ok(Msg::default()),
            Some(Value::Object(map)) => Ok(Msg(map.clone())),
            Some(other) => Err(HalalError::invalid(format!("field {key} must be a JSON object, not {other}"))),
        }
    }

    /// A repeated message field.
    pub(crate) fn msgs(&self, key: &str) -> Result<Vec<Msg>, HalalError> {
        match self.value(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::Object(map) => Ok(Msg(map.clone())),
                    other => Err(HalalError::invalid(format!("field {key} must hold JSON objects, not {other}"))),
                })
                .collect(),
            Some(other) => Err(HalalError::invalid(format!("field {key} must be a JSON array, not {other}"))),
        }
    }

    /// A repeated string field.
    pub(crate) fn strs(&self, key: &str) -> Result<Vec<String>, HalalError> {
        match self.value(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(HalalError::invalid(format!("field {key} must hold JSON strings, not {other}"))),
                })
                .collect(),
            Some(other) => Err(HalalError::invalid(format!("field {key} must be a JSON array, not {other}"))),
        }
    }
}

/// Parses protojson's int64 text: optional `-`, then decimal digits only.
fn parse_int64(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A response message under construction; zero values are left out.
#[derive(Debug, Default)]
pub(crate) struct Obj(Map<String, Value>);

impl Obj {
    /// An empty message.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// A string field.
    pub(crate) fn str(mut self, key: &str, value: &str) -> Self {
        if !value.is_empty() {
            self.0.insert(key.to_owned(), Value::String(value.to_owned()));
        }
        self
    }

    /// An int64 field, written as a JSON string.
    pub(crate) fn int64(mut self, key: &str, value: i64) -> Self {
        if value != 0 {
            self.0.insert(key.to_owned(), Value::String(value.to_string()));
        }
        self
    }

    /// An int32 field, written as a JSON number.
    pub(crate) fn int32(mut self, key: &str, value: i32) -> Self {
        if value != 0 {
            self.0.insert(key.to_owned(), Value::from(value));
        }
        self
    }

    /// A bool field.
    pub(crate) fn bool(mut self, key: &str, value: bool) -> Self {
        if value {
            self.0.insert(key.to_owned(), Value::Bool(true));
        }
        self
    }

    /// A nested message field: always written when set, even when empty (as protojson does for a set
    /// message).
    pub(crate) fn msg(mut self, key: &str, value: Obj) -> Self {
        self.0.insert(key.to_owned(), value.into_value());
        self
    }

    /// A repeated message field.
    pub(crate) fn list(mut self, key: &str, items: Vec<Value>) -> Self {
        if !items.is_empty() {
            self.0.insert(key.to_owned(), Value::Array(items));
        }
        self
    }

    /// The JSON object.
    pub(crate) fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn int64_fields_must_be_strings() {
        let m = parse(br#"{"size":"5242880","n":5242880,"neg":"-3","bad":"1e3","plus":"+1","empty":""}"#).unwrap();
        assert_eq!(m.int64("size").unwrap(), Some(5_242_880));
        assert_eq!(m.int64("neg").unwrap(), Some(-3));
        assert_eq!(m.int64("missing").unwrap(), None);
        assert!(m.int64("n").unwrap_err().to_string().contains("JSON string"));
        for bad in ["bad", "plus", "empty"] {
            assert!(m.int64(bad).is_err(), "{bad}");
        }
        assert!(parse(b"[]").is_err());
        assert!(parse(b"{").is_err());
        assert!(parse(b"  ").unwrap().str("x").unwrap().is_none());
    }

    #[test]
    fn zero_values_are_left_out() {
        let v = Obj::new()
            .str("a", "")
            .str("b", "x")
            .int64("c", 0)
            .int64("d", 7)
            .int32("e", 0)
            .int32("f", 18)
            .bool("g", false)
            .bool("h", true)
            .list("i", vec![])
            .msg("j", Obj::new())
            .into_value();
        assert_eq!(v, json!({"b": "x", "d": "7", "f": 18, "h": true, "j": {}}));
    }
}
