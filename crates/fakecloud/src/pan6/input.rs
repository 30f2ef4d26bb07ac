//! Reading 6pan request bodies: JSON objects (the documented form), or URL-encoded forms as the v1
//! server's body parser also accepted. Values are read leniently: a number where a string is expected is
//! taken as its decimal text, and flags accept `1`/`true`/`yes`.

use axum::http::{HeaderMap, header};
use serde_json::{Map, Value};

use super::envelope::Pan6Error;

/// The fields of a request body.
#[derive(Debug, Default)]
pub(crate) struct Fields(Map<String, Value>);

/// Parses a request body.
pub(crate) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<Fields, Pan6Error> {
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let mime = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    if mime == "application/x-www-form-urlencoded" {
        let map = form_urlencoded::parse(body)
            .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
            .collect();
        return Ok(Fields(map));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Fields::default());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Fields(map)),
        Ok(_) => Err(Pan6Error::business("BAD_REQUEST_BODY", "the body must be a JSON object")),
        Err(e) => Err(Pan6Error::business("BAD_REQUEST_BODY", format!("the body is not valid JSON: {e}"))),
    }
}

impl Fields {
    /// The raw value of `key` (`null` counts as absent).
    pub(crate) fn value(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    /// A text value, trimmed; numbers become their decimal text. Empty text counts as absent.
    pub(crate) fn text(&self, key: &str) -> Option<String> {
        let text = match self.value(key)? {
            Value::String(s) => s.trim().to_owned(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        (!text.is_empty()).then_some(text)
    }

    /// A flag: `1`, `true` or `yes` (as a JSON value or as text) is set; anything else is not.
    pub(crate) fn flag(&self, key: &str) -> bool {
        match self.value(key) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Number(n)) => n.as_i64() == Some(1),
            Some(Value::String(s)) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
            _ => false,
        }
    }

    /// An integer (a JSON number or text of digits); malformed values are a business error.
    pub(crate) fn int(&self, key: &str) -> Result<Option<i64>, Pan6Error> {
        let bad = || {
            Pan6Error::business(
                format!("{}_NOT_VALID", key.to_ascii_uppercase()),
                format!("{key} must be an integer"),
            )
        };
        match self.value(key) {
            None => Ok(None),
            Some(Value::Number(n)) => n.as_i64().map(Some).ok_or_else(bad),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => s.trim().parse().map(Some).map_err(|_| bad()),
            Some(_) => Err(bad()),
        }
    }
}

/// The v1 server's code for a missing field: `{FIELD}_REQUIRED`.
pub(crate) fn required(key: &str) -> Pan6Error {
    let mut code = String::new();
    for (i, c) in key.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            code.push('_');
        }
        code.push(c.to_ascii_uppercase());
    }
    Pan6Error::business(format!("{code}_REQUIRED"), format!("{key} is required"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lenient_fields() {
        let mut h = HeaderMap::new();
        let f = parse(&h, br#"{"a":" x ","n":3,"f":"yes","g":1,"e":"","z":null}"#).unwrap();
        assert_eq!(f.text("a").as_deref(), Some("x"));
        assert_eq!(f.text("n").as_deref(), Some("3"));
        assert_eq!(f.text("e"), None);
        assert_eq!(f.text("z"), None);
        assert!(f.flag("f") && f.flag("g") && !f.flag("a"));
        assert_eq!(f.int("n").unwrap(), Some(3));
        assert!(f.int("a").is_err());
        assert!(parse(&h, b"[]").is_err());
        assert!(parse(&h, b"").unwrap().text("a").is_none());
        h.insert(header::CONTENT_TYPE, "application/x-www-form-urlencoded".parse().unwrap());
        assert_eq!(parse(&h, b"a=1&b=%2Fx").unwrap().text("b").as_deref(), Some("/x"));
        assert!(matches!(required("taskHash"), Pan6Error::Business { code, .. } if code == "TASK_HASH_REQUIRED"));
    }
}
