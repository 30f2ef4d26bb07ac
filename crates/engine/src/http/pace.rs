//! Request pacing for one API endpoint of one account, adapting to what the cloud accepts.
//!
//! A cloud that limits requests per second answers the excess with "too frequent" (123pan: code 429, or
//! code 1 with a load-shedding message). Backing each refused request off on its own only makes them
//! collide again, so every task of an account waits its turn at one [`Pace`] per endpoint, and the pace
//! moves for everyone:
//!
//! * **Refused**: the rate halves at once (at most once a second, so one burst of refusals counts once), and
//!   the rate that was refused is remembered as the known limit.
//! * **Accepted, below 90% of the known limit**: the rate climbs back quickly, a tenth of the known limit per
//!   accepted request, so a halving costs a few slow requests and not a minute.
//! * **Accepted, at or above that**: every [`PROBE_AFTER`] accepted requests in a row raise it by a tenth, up
//!   to the rule's ceiling. This is what lets an account with higher limits (123pan's limits grow with the
//!   membership level) go faster than the default; a refusal while probing sets a new known limit.
//!
//! The pace never goes below the rule's floor. Rates are whole requests per second or slower.

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Accepted requests in a row before the pace probes above the known limit.
pub const PROBE_AFTER: u32 = 30;
/// After a halving, climb back to this share of the refused rate before probing slowly.
const RECOVER_TO: f64 = 0.9;
/// Refusals closer together than this are one event: the requests were already in flight.
const CUT_SPACING: Duration = Duration::from_secs(1);

/// How one endpoint is paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PaceRule {
    /// Requests per second at the start.
    pub start: f64,
    /// Never slower than this.
    pub floor: f64,
    /// Never faster than this.
    pub ceiling: f64,
    /// Whether the rate moves with the cloud's answers; a fixed rule only waits.
    pub adaptive: bool,
}

impl PaceRule {
    /// A rule that starts at `per_sec`, may halve down to an eighth of it and probe up to `ceiling`.
    pub const fn adaptive(per_sec: f64, ceiling: f64) -> Self {
        Self {
            start: per_sec,
            floor: per_sec / 8.0,
            ceiling,
            adaptive: true,
        }
    }

    /// One request every `period`, never faster or slower.
    pub fn fixed(period: Duration) -> Self {
        let rate = 1.0 / period.as_secs_f64();
        Self {
            start: rate,
            floor: rate,
            ceiling: rate,
            adaptive: false,
        }
    }
}

/// The pace of one endpoint, shared by every task that calls it.
pub struct Pace {
    rule: PaceRule,
    state: Mutex<State>,
}

struct State {
    rate: f64,
    limiter: Arc<DefaultDirectRateLimiter>,
    /// Bumped whenever the limiter is replaced, so a waiter can tell it waited on an old one.
    generation: u64,
    known_limit: Option<f64>,
    accepted_in_row: u32,
    last_cut: Option<Instant>,
}

impl std::fmt::Debug for Pace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pace")
            .field("rule", &self.rule)
            .field("rate", &self.rate())
            .finish()
    }
}

impl Pace {
    /// A pace at the rule's start rate.
    pub fn new(rule: PaceRule) -> Self {
        Self {
            rule,
            state: Mutex::new(State {
                rate: rule.start,
                limiter: limiter(rule.start, false),
                generation: 0,
                known_limit: None,
                accepted_in_row: 0,
                last_cut: None,
            }),
        }
    }

    /// The current rate in requests per second.
    pub fn rate(&self) -> f64 {
        self.lock().rate
    }

    /// Waits for this request's turn.
    pub async fn ready(&self) {
        loop {
            let (generation, limiter) = {
                let state = self.lock();
                (state.generation, Arc::clone(&state.limiter))
            };
            limiter.until_ready().await;
            // A slot of a replaced (faster) limiter does not count: wait for one at the new rate.
            if self.lock().generation == generation {
                return;
            }
        }
    }

    /// Takes this request's turn if it is due now, without waiting.
    pub fn try_ready(&self) -> bool {
        self.lock().limiter.check().is_ok()
    }

    /// The cloud accepted a request: climb back towards the known limit, or probe above it.
    pub fn accepted(&self) {
        if !self.rule.adaptive {
            return;
        }
        let mut state = self.lock();
        state.accepted_in_row = state.accepted_in_row.saturating_add(1);
        let rate = match state.known_limit {
            Some(limit) if state.rate < limit * RECOVER_TO => (state.rate + limit / 10.0).min(limit * RECOVER_TO),
            _ if state.accepted_in_row >= PROBE_AFTER => {
                state.accepted_in_row = 0;
                state.rate * 1.1
            }
            _ => return,
        };
        self.set(&mut state, rate);
    }

    /// The cloud refused a request as too frequent: halve the rate for everyone.
    pub fn throttled(&self) {
        if !self.rule.adaptive {
            return;
        }
        let mut state = self.lock();
        state.accepted_in_row = 0;
        let now = Instant::now();
        if state.last_cut.is_some_and(|at| now.duration_since(at) < CUT_SPACING) {
            return;
        }
        state.last_cut = Some(now);
        state.known_limit = Some(state.rate);
        let halved = state.rate / 2.0;
        self.set(&mut state, halved);
        tracing::info!(rate = state.rate, "the cloud asked for fewer requests; pacing slower");
    }

    fn set(&self, state: &mut State, rate: f64) {
        let rate = rate.clamp(self.rule.floor, self.rule.ceiling);
        if (rate - state.rate).abs() < f64::EPSILON {
            return;
        }
        state.rate = rate;
        // The new limiter's first slot is taken now: the next request waits a full interval of the new rate,
        // as it would have under one limiter.
        state.limiter = limiter(rate, true);
        state.generation += 1;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One request every `1 / rate` seconds, no burst: the cloud counts requests per second, and a burst is what
/// it refuses.
fn limiter(rate: f64, spend_first: bool) -> Arc<DefaultDirectRateLimiter> {
    let period = Duration::from_secs_f64(1.0 / rate.max(1e-3));
    let quota = Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(NonZeroU32::MIN);
    let limiter = RateLimiter::direct(quota);
    if spend_first {
        let _ = limiter.check();
    }
    Arc::new(limiter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_are_spaced_by_the_rate() {
        let pace = Pace::new(PaceRule::adaptive(20.0, 40.0));
        let start = Instant::now();
        for _ in 0..5 {
            pace.ready().await;
        }
        // The first goes at once, the next four 50 ms apart.
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(190), "{took:?}");
        assert!(took < Duration::from_millis(400), "{took:?}");
    }

    #[test]
    fn a_refusal_halves_once_per_burst_then_recovers_below_the_limit() {
        let pace = Pace::new(PaceRule::adaptive(2.0, 20.0));
        pace.throttled();
        pace.throttled();
        assert!((pace.rate() - 1.0).abs() < 1e-9, "{}", pace.rate());
        for _ in 0..10 {
            pace.accepted();
        }
        assert!((pace.rate() - 1.8).abs() < 1e-9, "{}", pace.rate());
    }

    #[test]
    fn a_long_run_of_acceptance_probes_higher_up_to_the_ceiling() {
        let pace = Pace::new(PaceRule::adaptive(2.0, 2.5));
        for _ in 0..PROBE_AFTER - 1 {
            pace.accepted();
        }
        assert!((pace.rate() - 2.0).abs() < 1e-9);
        pace.accepted();
        assert!((pace.rate() - 2.2).abs() < 1e-9, "{}", pace.rate());
        for _ in 0..PROBE_AFTER * 5 {
            pace.accepted();
        }
        assert!((pace.rate() - 2.5).abs() < 1e-9, "{}", pace.rate());
    }

    #[test]
    fn the_floor_holds_and_fixed_rules_never_move() {
        let pace = Pace::new(PaceRule::adaptive(2.0, 20.0));
        for _ in 0..10 {
            pace.lock().last_cut = None;
            pace.throttled();
        }
        assert!((pace.rate() - 0.25).abs() < 1e-9, "{}", pace.rate());
        let fixed = Pace::new(PaceRule::fixed(Duration::from_secs(60)));
        fixed.throttled();
        fixed.accepted();
        assert!((fixed.rate() - 1.0 / 60.0).abs() < 1e-9);
        assert!(fixed.try_ready());
        assert!(!fixed.try_ready(), "one a minute");
    }

    #[tokio::test]
    async fn a_waiter_on_a_replaced_limiter_waits_at_the_new_rate() {
        let pace = Arc::new(Pace::new(PaceRule::adaptive(10.0, 10.0)));
        pace.ready().await;
        let waiter = tokio::spawn({
            let pace = Arc::clone(&pace);
            async move {
                let start = Instant::now();
                pace.ready().await;
                start.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        pace.throttled();
        let waited = waiter.await.expect("waiter");
        // 100 ms at the old rate would have done; at 5/s it is 200 ms after the cut.
        assert!(waited >= Duration::from_millis(180), "{waited:?}");
    }
}
