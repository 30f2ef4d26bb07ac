//! Per-route request-rate limits (QPS), as the real services enforce them: the configuration value.
//!
//! A limit names a route (the route names of [`crate::faults`], e.g. `123pan/create`) and a whole number
//! of requests per second. How a limit is enforced (a sliding one-second window, checked before
//! authentication) is described in [`crate::throttle`]; what a refused request is answered depends on the
//! provider (123pan: HTTP 200 with the envelope `code` 429 `请求太频繁`).

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::faults;

/// Why a rate limit cannot be set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RateLimitError {
    /// The route name is not one of the known route names (the wildcard `*` is not accepted either: a limit
    /// is always per route).
    #[error("unknown route {route:?}; known: {known}")]
    UnknownRoute {
        /// The name that was given.
        route: String,
        /// The known names, comma-separated.
        known: String,
    },
    /// A limit of 0 requests per second would refuse every request; use a fault rule for that instead.
    #[error("the limit of route {route:?} must be at least 1 request per second")]
    Zero {
        /// The route concerned.
        route: String,
    },
    /// Not of the form `ROUTE=N` with N a whole number.
    #[error("expected ROUTE=N with N a whole number of requests per second, not {0:?}")]
    Syntax(String),
}

/// One route's limit, as written on the command line: `ROUTE=N` (e.g. `123pan/create=2`).
///
/// Parsing checks the route name and refuses `N = 0`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimit {
    /// Route name, e.g. [`crate::pan123::ROUTE_CREATE`].
    pub route: String,
    /// Requests admitted per sliding second; at least 1.
    pub per_second: u32,
}

impl FromStr for RateLimit {
    type Err = RateLimitError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (route, n) = s.split_once('=').ok_or_else(|| RateLimitError::Syntax(s.to_owned()))?;
        let per_second: u32 = n.trim().parse().map_err(|_| RateLimitError::Syntax(s.to_owned()))?;
        let route = route.trim();
        check(route, per_second)?;
        Ok(Self {
            route: route.to_owned(),
            per_second,
        })
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.route, self.per_second)
    }
}

/// Per-route request-rate limits: route name → requests per second. The default has no limits (the
/// sandbox runs unlimited).
///
/// Every entry names a known route and is at least 1: the only ways in ([`RateLimits::set`],
/// [`RateLimit`]'s parser) check both. Serialises as a JSON object `{"123pan/create": 2, …}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RateLimits {
    per_route: BTreeMap<String, u32>,
}

impl RateLimits {
    /// No limits.
    pub fn new() -> Self {
        Self::default()
    }

    /// Limits `route` to `per_second` requests in any sliding second, replacing its previous limit.
    pub fn set(&mut self, route: &str, per_second: u32) -> Result<(), RateLimitError> {
        check(route, per_second)?;
        self.per_route.insert(route.to_owned(), per_second);
        Ok(())
    }

    /// `self` with one more limit (see [`RateLimits::set`]).
    pub fn with(mut self, route: &str, per_second: u32) -> Result<Self, RateLimitError> {
        self.set(route, per_second)?;
        Ok(self)
    }

    /// Removes the limit of `route`, if any.
    pub fn remove(&mut self, route: &str) {
        self.per_route.remove(route);
    }

    /// The limit of `route`, if it has one.
    pub fn get(&self, route: &str) -> Option<u32> {
        self.per_route.get(route).copied()
    }

    /// Whether no route is limited.
    pub fn is_empty(&self) -> bool {
        self.per_route.is_empty()
    }

    /// Every limit, by route name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, u32)> {
        self.per_route.iter().map(|(route, n)| (route.as_str(), *n))
    }
}

impl From<RateLimit> for RateLimits {
    fn from(limit: RateLimit) -> Self {
        let mut limits = Self::new();
        // Already checked when the `RateLimit` was parsed.
        limits.per_route.insert(limit.route, limit.per_second);
        limits
    }
}

/// Later entries for the same route replace earlier ones.
impl Extend<RateLimit> for RateLimits {
    fn extend<I: IntoIterator<Item = RateLimit>>(&mut self, iter: I) {
        // Each `RateLimit` was checked when it was parsed.
        self.per_route.extend(iter.into_iter().map(|l| (l.route, l.per_second)));
    }
}

/// Later entries for the same route replace earlier ones.
impl FromIterator<RateLimit> for RateLimits {
    fn from_iter<I: IntoIterator<Item = RateLimit>>(iter: I) -> Self {
        let mut limits = Self::new();
        limits.extend(iter);
        limits
    }
}

fn check(route: &str, per_second: u32) -> Result<(), RateLimitError> {
    let known = faults::known_routes();
    if !known.contains(&route) {
        return Err(RateLimitError::UnknownRoute {
            route: route.to_owned(),
            known: known.join(", "),
        });
    }
    if per_second == 0 {
        return Err(RateLimitError::Zero { route: route.to_owned() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse_and_are_checked() {
        let l: RateLimit = "123pan/create=2".parse().unwrap();
        assert_eq!(
            l,
            RateLimit {
                route: "123pan/create".into(),
                per_second: 2
            }
        );
        assert_eq!(l.to_string(), "123pan/create=2");
        assert!(matches!(
            "123pan/nope=2".parse::<RateLimit>(),
            Err(RateLimitError::UnknownRoute { .. })
        ));
        assert!(matches!("*=2".parse::<RateLimit>(), Err(RateLimitError::UnknownRoute { .. })));
        assert!(matches!("123pan/create=0".parse::<RateLimit>(), Err(RateLimitError::Zero { .. })));
        for bad in ["123pan/create", "123pan/create=", "123pan/create=-1", "123pan/create=1.5", "=3"] {
            assert!(bad.parse::<RateLimit>().is_err(), "{bad}");
        }
        let err = "123pan/nope=2".parse::<RateLimit>().unwrap_err().to_string();
        assert!(err.contains("\"123pan/nope\"") && err.contains("123pan/mkdir"), "{err}");
    }

    #[test]
    fn the_set_keeps_the_last_limit_of_a_route() {
        let limits: RateLimits = ["123pan/create=2", "wcs/bput=5", "123pan/create=3"]
            .iter()
            .map(|s| s.parse::<RateLimit>().unwrap())
            .collect();
        assert_eq!(limits.get("123pan/create"), Some(3));
        assert_eq!(limits.get("wcs/bput"), Some(5));
        assert_eq!(limits.get("123pan/list"), None);
        assert_eq!(
            serde_json::to_value(&limits).unwrap(),
            serde_json::json!({"123pan/create": 3, "wcs/bput": 5})
        );
        let mut limits = RateLimits::new().with("6pan/v2/files", 1).unwrap();
        assert!(limits.set("6pan/v2/nope", 1).is_err());
        assert!(limits.set("6pan/v2/files", 0).is_err());
        assert_eq!(limits.get("6pan/v2/files"), Some(1));
        limits.remove("6pan/v2/files");
        assert!(limits.is_empty());
    }
}
