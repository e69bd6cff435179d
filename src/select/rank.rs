//! Ranking: the score every candidate story gets for one edition. Pure, no
//! IO and no clock (`now` is passed in). The rules, and why they are these
//! (the evaluation behind the defaults is `examples/rank_eval.rs`), are in
//! the README's "Ranking" section; in short:
//!
//! - A story's engagement `E = votes + comment_weight·comments` is set
//!   against the time it has had to gather it, its exposure
//!   `x = T·(1 − e^(−age/T))` hours with `T = digest.exposure_hours`: the
//!   age while the story is young, saturating at `T`, as a story's votes
//!   saturate once it has left the front page. A week-old story is judged
//!   on its whole engagement, not divided by a week.
//! - The window is cut into periods of `digest.period_hours` counted back
//!   from `now` (period 0 ends at `now`). A period's average rate `m` is
//!   its stories' engagement over their exposure, so a slow day (a weekend,
//!   a holiday) is measured against itself.
//! - The score is the story's rate, with a prior of `digest.prior_hours`
//!   hours at the period's average rate, in units of that average:
//!   `(E + m·τ) / (x + τ) / m`. A score of 3 is "three times the period's
//!   typical engagement rate"; a story a few minutes old scores about 1
//!   until its own engagement says otherwise.
//!
//! Selection (`super::walk`) never looks at these parts, only the order.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::Rules;
use crate::domain::Story;

/// The parts of one story's score, for `preview --explain`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Parts {
    /// The period the story was published in: 0 is the one ending at `now`,
    /// 1 the one before it, and so on.
    pub period: u32,
    /// `votes + comment_weight·comments`.
    pub engagement: f64,
    /// Hours of exposure: the age, saturating at `exposure_hours`.
    pub exposure: f64,
    /// `engagement / exposure`, per hour (0 before any exposure).
    pub rate: f64,
    /// The period's average rate: the prior's mean and the score's unit.
    pub period_rate: f64,
    /// `(engagement + period_rate·prior_hours) / (exposure + prior_hours) / period_rate`.
    pub score: f64,
}

/// The periods of one edition and their average rates; scores any story
/// of the set it was built from.
#[derive(Debug, Clone)]
pub struct Ranker {
    now: DateTime<Utc>,
    rules: Rules,
    /// Average rate of each period, by period number.
    period_rates: Vec<f64>,
}

/// The smallest rate a period is measured against (engagement per hour),
/// so that a pool without a single vote still has a unit.
const MIN_RATE: f64 = 1e-9;

/// The smallest denominator of a rate, in hours (one minute), so that a
/// story published this instant with `prior_hours = 0` has a finite score.
const MIN_HOURS: f64 = 1.0 / 60.0;

impl Ranker {
    /// Measures the periods of `stories` at `now`. A period's average is
    /// shrunk towards the whole pool's by one fully exposed story's worth of
    /// exposure (`exposure_hours`), so a period with one or two stories is
    /// not its own yardstick.
    pub fn new<'a>(
        stories: impl IntoIterator<Item = &'a Story>,
        now: DateTime<Utc>,
        rules: &Rules,
    ) -> Ranker {
        let mut seen: Vec<(i64, u32, f64, f64)> = stories
            .into_iter()
            // A story dated after `now` is in no window (a feed's clock, or
            // an edition previewed in the past) and sets no average.
            .filter(|s| s.published_at <= now)
            .map(|s| {
                let (period, engagement, exposure) = observe(s, now, rules);
                (s.id, period, engagement, exposure)
            })
            .collect();
        // Summed in id order, so the same stories in any order give the
        // same figures to the last bit.
        seen.sort_by_key(|&(id, ..)| id);
        let periods = seen.iter().map(|&(_, p, ..)| p as usize + 1).max().unwrap_or(0);
        let mut sums = vec![(0.0, 0.0); periods];
        let (mut all_e, mut all_x) = (0.0, 0.0);
        for &(_, p, e, x) in &seen {
            sums[p as usize].0 += e;
            sums[p as usize].1 += x;
            all_e += e;
            all_x += x;
        }
        let overall = (all_e / all_x.max(MIN_HOURS)).max(MIN_RATE);
        let t = rules.exposure_hours;
        let period_rates = sums
            .into_iter()
            .map(|(e, x)| ((e + overall * t) / (x + t)).max(MIN_RATE))
            .collect();
        Ranker {
            now,
            rules: *rules,
            period_rates,
        }
    }

    /// The score of `story` and its parts.
    pub fn parts(&self, story: &Story) -> Parts {
        let (period, engagement, exposure) = observe(story, self.now, &self.rules);
        let m = self
            .period_rates
            .get(period as usize)
            .copied()
            // A story the ranker was not built from: measured against the
            // latest period.
            .unwrap_or_else(|| self.period_rates.first().copied().unwrap_or(MIN_RATE));
        let tau = self.rules.prior_hours;
        let score = (engagement + m * tau) / (exposure + tau).max(MIN_HOURS) / m;
        Parts {
            period,
            engagement,
            exposure,
            rate: if exposure > 0.0 {
                engagement / exposure.max(MIN_HOURS)
            } else {
                0.0
            },
            period_rate: m,
            score,
        }
    }

    /// The period an instant falls in (0 for `now` and later).
    pub fn period_of(&self, t: DateTime<Utc>) -> u32 {
        period_of(t, self.now, &self.rules)
    }
}

/// A story's period, engagement and exposure at `now`.
fn observe(story: &Story, now: DateTime<Utc>, rules: &Rules) -> (u32, f64, f64) {
    let age_hours = hours(now - story.published_at).max(0.0);
    let engagement = story.votes.max(0) as f64 + rules.comment_weight * story.comments.max(0) as f64;
    let t = rules.exposure_hours;
    let exposure = t * (1.0 - (-age_hours / t).exp());
    (period_of(story.published_at, now, rules), engagement, exposure)
}

fn period_of(t: DateTime<Utc>, now: DateTime<Utc>, rules: &Rules) -> u32 {
    let age_hours = hours(now - t).max(0.0);
    // A window never reaches back more than two weekly periods; the cap
    // only keeps a story from another century from allocating periods.
    (age_hours / rules.period_hours).floor().min(10_000.0) as u32
}

fn hours(d: chrono::Duration) -> f64 {
    d.num_seconds() as f64 / 3600.0
}
