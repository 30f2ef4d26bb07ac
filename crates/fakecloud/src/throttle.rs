//! Enforcing [`RateLimits`]: a sliding one-second window per route.
//!
//! A request to a limited route is admitted only if fewer than N requests of that route were *admitted*
//! in the last 1000 ms; refused requests do not count. This is the strictest plausible reading of "N
//! requests per second": unlike a fixed window (which lets 2N through around a second boundary) or a token
//! bucket (which lets a burst through after a pause), no 1000 ms span ever holds more than N admitted
//! requests. The price is that a client pacing itself at exactly N per second will be refused now and then,
//! because network jitter makes two of its requests arrive less than a second apart; clients must keep a
//! margin below the limit and back off on the refusal.
//!
//! The check happens in the route guard ([`crate::faults`]), before authentication and before the fault
//! plan, so a refused request neither reaches its handler nor uses up a fault rule. Only requests that
//! arrive while a limit is in force are recorded; replacing the limits keeps the recent admissions of the
//! routes that stay limited, so re-sending the same limits cannot let a burst through.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::rate_limits::RateLimits;

/// Length of the sliding window.
const WINDOW: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
struct State {
    limits: RateLimits,
    /// Per limited route, when each request admitted within the last [`WINDOW`] arrived, oldest first.
    admitted: HashMap<String, VecDeque<Instant>>,
}

/// The limits in force and the recent admissions. Locks are held for a few instructions only, so a std
/// mutex is fine in async code.
#[derive(Debug, Default)]
pub(crate) struct Throttle {
    state: Mutex<State>,
}

impl Throttle {
    /// A throttle enforcing `limits`.
    pub(crate) fn new(limits: RateLimits) -> Self {
        Self {
            state: Mutex::new(State {
                limits,
                admitted: HashMap::new(),
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Replaces every limit (an empty set lifts them all).
    pub(crate) fn set_limits(&self, limits: RateLimits) {
        let mut state = self.state();
        state.admitted.retain(|route, _| limits.get(route).is_some());
        state.limits = limits;
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> RateLimits {
        self.state().limits.clone()
    }

    /// Whether a request to `route` arriving now is admitted; an admitted one is recorded.
    pub(crate) fn admit(&self, route: &str) -> bool {
        let mut state = self.state();
        // Read the clock under the lock, so that each window is recorded in arrival order.
        let now = Instant::now();
        state.admit(route, now)
    }

    /// [`Throttle::admit`] at a given instant.
    #[cfg(test)]
    fn admit_at(&self, route: &str, now: Instant) -> bool {
        self.state().admit(route, now)
    }
}

impl State {
    /// The sliding-window check; `now` must not go backwards between calls.
    fn admit(&mut self, route: &str, now: Instant) -> bool {
        let Some(limit) = self.limits.get(route) else {
            return true;
        };
        let admitted = self.admitted.entry(route.to_owned()).or_default();
        // An admission exactly one window old has left the window.
        while admitted.front().is_some_and(|t| now.saturating_duration_since(*t) >= WINDOW) {
            admitted.pop_front();
        }
        if admitted.len() >= limit as usize {
            return false;
        }
        admitted.push_back(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = "123pan/create";

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn the_window_slides() {
        let throttle = Throttle::new(RateLimits::new().with(CREATE, 2).unwrap());
        let t0 = Instant::now();
        assert!(throttle.admit_at(CREATE, t0));
        assert!(throttle.admit_at(CREATE, t0 + ms(400)));
        // Full: refused until the oldest admission is a whole second old, and refusals do not count.
        assert!(!throttle.admit_at(CREATE, t0 + ms(401)));
        assert!(!throttle.admit_at(CREATE, t0 + ms(999)));
        assert!(throttle.admit_at(CREATE, t0 + ms(1000)));
        // The window now holds t0+400 and t0+1000.
        assert!(!throttle.admit_at(CREATE, t0 + ms(1399)));
        assert!(throttle.admit_at(CREATE, t0 + ms(1400)));
        assert!(!throttle.admit_at(CREATE, t0 + ms(1401)));
        // Pacing at exactly 2/s with a little jitter is refused.
        assert!(!throttle.admit_at(CREATE, t0 + ms(1999)));
        // Other routes are not limited.
        for i in 0..100 {
            assert!(throttle.admit_at("123pan/mkdir", t0 + ms(i)));
        }
    }

    #[test]
    fn limits_can_be_replaced_and_lifted() {
        let throttle = Throttle::default();
        let t0 = Instant::now();
        assert!((0..10).all(|_| throttle.admit_at(CREATE, t0)));
        throttle.set_limits(RateLimits::new().with(CREATE, 1).unwrap());
        assert!(throttle.admit_at(CREATE, t0));
        assert!(!throttle.admit_at(CREATE, t0 + ms(10)));
        // Sending the same limits again keeps the window.
        throttle.set_limits(throttle.limits());
        assert!(!throttle.admit_at(CREATE, t0 + ms(20)));
        throttle.set_limits(RateLimits::new());
        assert!((0..10).all(|_| throttle.admit_at(CREATE, t0 + ms(30))));
    }
}
