//! The evaluation behind the ranking's defaults (README, "Ranking"): a
//! synthetic week of stories whose true interest is known, their votes and
//! comments accumulated over time as a site's would be and observed at
//! digest time, and how well each candidate ranking recovers the truth in
//! daily, weekly and catch-up digests. Every candidate goes through
//! Herald's own selection (`select::select`, 10 stories); Herald's own
//! ranking (`Pool::rank`) is run at several settings.
//!
//!   cargo run --example rank_eval [WEEKS]     (default 100 weeks, seeds 13 on)
//!
//! The world, per simulated week (Monday 00:00 UTC to the next Tuesday):
//! - about 48 stories a day, published mostly between 07:00 and 23:00;
//! - each story's true interest `q` is log-normal (σ = 1);
//! - a story gathers `30·q·traffic(day)` votes in expectation over its
//!   life, arriving at a rate that decays exponentially with the story's
//!   own time scale (log-normal, median 8 h, so some stories live for two
//!   days and some for two hours) and follows the site's daily traffic
//!   (quiet at night); weekends have 60–70% of a weekday's readers and
//!   every day varies by ±20% around that;
//! - comments come at a story's own ratio to votes (log-normal around
//!   0.15, independent of interest: a controversial story is not a better
//!   one);
//! - what a digest sees is a Poisson draw of the votes and comments
//!   accumulated by its send time.
//!
//! The digests: daily (window 24 h, each day of the week at 07:00, 13:00
//! and 19:00 UTC, as readers in different zones get theirs), weekly (the
//! next Monday 07:00, window 7 days), and catch-up (a daily digest at the
//! same hours after the previous one was skipped, by an outage longer than
//! `schedule.grace`: window 48 h). The truth is the stories of the window
//! ranked by `q`. Columns: ρ is Spearman's rank correlation of the score
//! with `q` over the window's stories; @10 is how many of the true top 10
//! the 10-story digest holds; "skipped" is how many of the skipped day's
//! true top 5 the catch-up digest holds.

use chrono::{DateTime, Duration, TimeZone, Utc};
use herald::domain::{History, Story};
use herald::select::{self, Pool, Rules, Scored};
use herald::testing::{story, subscriber};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, LogNormal, Poisson};

/// When the daily and catch-up digests go out (UTC): readers in different
/// time zones get theirs at different points of the site's day.
const SEND_HOURS: [i64; 3] = [7, 13, 19];
/// Digest size, as `digest.max_stories` defaults to.
const DIGEST: usize = 10;
/// Simulation step for vote arrival, in hours.
const STEP: f64 = 1.0 / 6.0;
/// Days simulated: the week plus the Monday after (the weekly send) and
/// one day before (so Monday's daily digest has a full window).
const DAYS: i64 = 9;

struct Truth {
    story: Story,
    interest: f64,
}

/// One story's life: its interest and the expected number of votes it has
/// gathered after each simulation step since its publication.
struct Life {
    id: i64,
    published: DateTime<Utc>,
    interest: f64,
    comment_ratio: f64,
    cumulative: Vec<f64>,
}

fn main() {
    let weeks: u64 = std::env::args()
        .nth(1)
        .map_or(100, |w| w.parse().expect("WEEKS is a number"));
    let candidates = candidates();
    let mut totals = vec![Totals::default(); candidates.len()];
    for week in 0..weeks {
        let mut rng = StdRng::seed_from_u64(13 + week);
        let lives = simulate_week(&mut rng);
        let start = monday();
        for (day, hour) in (1..=7).flat_map(|d| SEND_HOURS.map(|h| (d, h))) {
            let now = start + Duration::days(day) + Duration::hours(hour);
            let shown = observe(&lives, now, &mut rng);
            for (c, t) in candidates.iter().zip(&mut totals) {
                t.daily.add(&evaluate(c, &shown, now, Duration::hours(24), None));
            }
            if day >= 2 {
                let shown = observe(&lives, now, &mut rng);
                let skipped = (now - Duration::hours(48), now - Duration::hours(24));
                for (c, t) in candidates.iter().zip(&mut totals) {
                    t.catch_up
                        .add(&evaluate(c, &shown, now, Duration::hours(48), Some(skipped)));
                }
            }
        }
        let now = start + Duration::days(7) + Duration::hours(7);
        let shown = observe(&lives, now, &mut rng);
        for (c, t) in candidates.iter().zip(&mut totals) {
            t.weekly.add(&evaluate(c, &shown, now, Duration::days(7), None));
        }
    }
    println!(
        "{weeks} synthetic weeks (seeds 13 to {}), 10-story digests; ρ = Spearman with true interest, \
         @10 = true top 10 in the digest, skipped = the skipped day's true top 5 in the catch-up digest\n",
        12 + weeks
    );
    println!(
        "| ranking | daily ρ | daily @10 | weekly ρ | weekly @10 | catch-up ρ | catch-up @10 | skipped |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (c, t) in candidates.iter().zip(&totals) {
        println!(
            "| {} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1} | {:.1} |",
            c.name,
            t.daily.rho(),
            t.daily.at10(),
            t.weekly.rho(),
            t.weekly.at10(),
            t.catch_up.rho(),
            t.catch_up.at10(),
            t.catch_up.skipped(),
        );
    }
    let worst = |f: fn(&Totals) -> &Mean| totals.iter().map(|t| f(t).at10_error()).fold(0.0, f64::max);
    println!(
        "\nstandard error of a mean @10 (largest over the rows): daily ±{:.2}, weekly ±{:.2}, catch-up ±{:.2}",
        worst(|t| &t.daily),
        worst(|t| &t.weekly),
        worst(|t| &t.catch_up)
    );
}

/// A ranking to evaluate.
struct Candidate {
    name: String,
    score: Scorer,
}

enum Scorer {
    /// A formula of votes, comments and age in hours (not Herald's).
    Formula(fn(f64, f64, f64) -> f64),
    /// Herald's `Pool::rank` with these rules.
    Herald(Rules),
    /// Herald's scores, then the periods taken in turn: every period's
    /// best, then every period's second best, and so on (per-period
    /// bucketing with equal shares).
    RoundRobin(Rules),
}

fn candidates() -> Vec<Candidate> {
    let formula = |name: &str, f: fn(f64, f64, f64) -> f64| Candidate {
        name: name.to_owned(),
        score: Scorer::Formula(f),
    };
    let herald = |exposure: f64, prior: f64, period: f64| {
        let whole = period >= 24.0 * 14.0;
        Candidate {
            name: format!(
                "rate, exposure {exposure} h, prior {prior} h, {}",
                if whole {
                    "one period".to_owned()
                } else {
                    format!("periods of {period} h")
                }
            ),
            score: Scorer::Herald(Rules {
                exposure_hours: exposure,
                prior_hours: prior,
                period_hours: period,
                ..rules()
            }),
        }
    };
    vec![
        formula("old \"hot\": (E + 1) / (age + 2)^1.8", |v, c, age| {
            (v + 2.0 * c + 1.0) / (age + 2.0).powf(1.8)
        }),
        formula("totals: E", |v, c, _| v + 2.0 * c),
        formula("plain rate: E / (age + 2)", |v, c, age| {
            (v + 2.0 * c) / (age + 2.0)
        }),
        herald(6.0, 4.0, 24.0 * 14.0),
        herald(6.0, 0.0, 24.0),
        herald(6.0, 1.0, 24.0),
        herald(6.0, 2.0, 24.0),
        herald(6.0, 4.0, 24.0),
        herald(6.0, 8.0, 24.0),
        herald(3.0, 4.0, 24.0),
        herald(12.0, 4.0, 24.0),
        herald(24.0, 4.0, 24.0),
        herald(720.0, 4.0, 24.0),
        Candidate {
            name: "periods of 24 h in turn (equal shares), rate, exposure 6 h, prior 2 h".to_owned(),
            score: Scorer::RoundRobin(rules()),
        },
    ]
}

/// The shipped rules (config/herald.toml) sized for the evaluation: ten
/// stories, no blog posts, no author limit.
fn rules() -> Rules {
    Rules {
        max_stories: DIGEST,
        max_blog_posts: 0,
        max_per_author: 100,
        ..herald::testing::RULES
    }
}

fn monday() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

/// The site's readers by hour of day (UTC), about 1 on average: quiet at
/// night, busiest mid-afternoon.
fn traffic_by_hour(h: f64) -> f64 {
    0.2 + 0.8 * (1.0 + ((h - 15.0) / 24.0 * std::f64::consts::TAU).cos())
}

fn simulate_week(rng: &mut StdRng) -> Vec<Life> {
    let interest = LogNormal::new(0.0, 1.0).unwrap();
    let lifetime = LogNormal::new(8f64.ln(), 0.6).unwrap();
    let comment_ratio = LogNormal::new(0.15f64.ln(), 0.7).unwrap();
    let per_day = Poisson::new(48.0).unwrap();
    let start = monday() - Duration::days(1);
    let mut lives = Vec::new();
    for day in 0..DAYS {
        // Day 0 is the Sunday before the week.
        let weekday = day % 7;
        let readers = match weekday {
            0 => 0.7,
            6 => 0.6,
            _ => 1.0,
        } * rng.random_range(0.8..1.2);
        let n = per_day.sample(rng) as usize;
        for _ in 0..n {
            // Publication hour: rejection-sampled so that most stories
            // come out between 07:00 and 23:00.
            let hour = loop {
                let h: f64 = rng.random_range(0.0..24.0);
                if rng.random_range(0.0..1.0) < publishing_by_hour(h) {
                    break h;
                }
            };
            let published = start + Duration::days(day) + Duration::seconds((hour * 3600.0) as i64);
            let q = interest.sample(rng);
            let life = lifetime.sample(rng);
            let total = 30.0 * q * readers;
            // Expected votes after each step: the decaying arrival rate
            // times the readers of that hour, normalised so that the
            // story's whole life brings `total` on an average day.
            let mut cumulative = Vec::new();
            let mut sum = 0.0;
            let steps = ((DAYS - day + 1) as f64 * 24.0 / STEP) as usize;
            for k in 0..steps {
                let t = (k as f64 + 0.5) * STEP;
                let clock = (hour + t) % 24.0;
                sum += total * (-t / life).exp() / life * STEP * traffic_by_hour(clock);
                cumulative.push(sum);
            }
            lives.push(Life {
                id: lives.len() as i64 + 1,
                published,
                interest: q,
                comment_ratio: comment_ratio.sample(rng),
                cumulative,
            });
        }
    }
    lives
}

fn publishing_by_hour(h: f64) -> f64 {
    if (7.0..23.0).contains(&h) { 1.0 } else { 0.15 }
}

/// The stories as a digest at `now` sees them.
fn observe(lives: &[Life], now: DateTime<Utc>, rng: &mut StdRng) -> Vec<Truth> {
    lives
        .iter()
        .filter(|l| l.published <= now)
        .map(|l| {
            let age = (now - l.published).num_seconds() as f64 / 3600.0;
            let k = ((age / STEP) as usize).min(l.cumulative.len() - 1);
            let expected = if age < STEP { 0.0 } else { l.cumulative[k] };
            let votes = draw(expected, rng);
            let comments = draw(expected * l.comment_ratio, rng);
            Truth {
                story: story(l.id)
                    .published(l.published)
                    .votes(votes)
                    .comments(comments)
                    .build(),
                interest: l.interest,
            }
        })
        .collect()
}

fn draw(mean: f64, rng: &mut StdRng) -> i64 {
    if mean <= 0.0 {
        0
    } else {
        Poisson::new(mean).unwrap().sample(rng) as i64
    }
}

/// One digest's figures.
#[derive(Debug, Default, Clone)]
struct Figures {
    rho: f64,
    at10: f64,
    skipped: f64,
}

#[derive(Debug, Default, Clone)]
struct Mean {
    sum: Figures,
    /// Sum of squares of @10, for its standard error.
    at10_squares: f64,
    n: f64,
}

impl Mean {
    fn add(&mut self, f: &Figures) {
        self.sum.rho += f.rho;
        self.sum.at10 += f.at10;
        self.at10_squares += f.at10 * f.at10;
        self.sum.skipped += f.skipped;
        self.n += 1.0;
    }
    fn rho(&self) -> f64 {
        self.sum.rho / self.n
    }
    fn at10(&self) -> f64 {
        self.sum.at10 / self.n
    }
    /// The standard error of the mean @10.
    fn at10_error(&self) -> f64 {
        let mean = self.at10();
        ((self.at10_squares / self.n - mean * mean) / (self.n - 1.0)).sqrt()
    }
    fn skipped(&self) -> f64 {
        self.sum.skipped / self.n
    }
}

#[derive(Debug, Default, Clone)]
struct Totals {
    daily: Mean,
    weekly: Mean,
    catch_up: Mean,
}

/// Ranks what the digest at `now` sees with `c`, selects a digest whose
/// window is `window` long through Herald's selection, and compares both
/// with the truth. `skipped` is the skipped period of a catch-up digest.
fn evaluate(
    c: &Candidate,
    shown: &[Truth],
    now: DateTime<Utc>,
    window: Duration,
    skipped: Option<(DateTime<Utc>, DateTime<Utc>)>,
) -> Figures {
    let rules = match &c.score {
        Scorer::Herald(r) | Scorer::RoundRobin(r) => *r,
        Scorer::Formula(_) => rules(),
    };
    let stories: Vec<Story> = shown.iter().map(|t| t.story.clone()).collect();
    let pool = match &c.score {
        Scorer::Herald(r) => Pool::rank(stories, now, r),
        Scorer::RoundRobin(r) => {
            let pool = Pool::rank(stories, now, r);
            let ranker = herald::select::Ranker::new(pool.ranked.iter().map(|s| &s.story), now, r);
            // Rank within the period, best first; then period by period.
            let mut seen: Vec<u32> = Vec::new();
            let mut keyed: Vec<(usize, u32, Scored)> = pool
                .ranked
                .into_iter()
                .map(|s| {
                    let period = ranker.period_of(s.story.published_at);
                    let within = seen.iter().filter(|&&p| p == period).count();
                    seen.push(period);
                    (within, period, s)
                })
                .collect();
            keyed.sort_by(|a, b| a.0.cmp(&b.0).then(b.2.score.total_cmp(&a.2.score)));
            let n = keyed.len() as f64;
            let ranked = keyed
                .into_iter()
                .enumerate()
                // The order is the ranking: its score is the position.
                .map(|(i, (_, _, s))| Scored {
                    score: n - i as f64,
                    story: s.story,
                })
                .collect();
            Pool { ranked }
        }
        Scorer::Formula(f) => {
            let mut ranked: Vec<Scored> = stories
                .into_iter()
                .map(|s| {
                    let age = (now - s.published_at).num_seconds() as f64 / 3600.0;
                    Scored {
                        score: f(s.votes as f64, s.comments as f64, age),
                        story: s,
                    }
                })
                .collect();
            ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.story.id.cmp(&b.story.id)));
            Pool { ranked }
        }
    };
    let history = History {
        last_sent_at: Some(now - window),
        sent_story_ids: Default::default(),
    };
    let frequency = if window > Duration::days(2) {
        herald::domain::Frequency::Weekly
    } else {
        herald::domain::Frequency::Daily
    };
    let mut reader = subscriber("eval@example.com").build();
    reader.frequency = frequency;
    let digest = select::select(&pool, &reader, &history, now, &rules);
    let interest = |id: i64| {
        shown
            .iter()
            .find(|t| t.story.id == id)
            .map_or(0.0, |t| t.interest)
    };
    let in_window: Vec<&Scored> = pool
        .ranked
        .iter()
        .filter(|s| s.story.published_at >= now - window && s.story.published_at <= now)
        .collect();
    let scores: Vec<f64> = in_window.iter().map(|s| s.score).collect();
    let truth: Vec<f64> = in_window.iter().map(|s| interest(s.story.id)).collect();
    let picked: Vec<i64> = digest.top_stories.iter().map(|&i| pool.get(i).story.id).collect();
    let mut by_truth: Vec<&Scored> = in_window.clone();
    by_truth.sort_by(|a, b| interest(b.story.id).total_cmp(&interest(a.story.id)));
    let at10 = by_truth
        .iter()
        .take(DIGEST)
        .filter(|s| picked.contains(&s.story.id))
        .count() as f64;
    let skipped = skipped.map_or(0.0, |(from, to)| {
        by_truth
            .iter()
            .filter(|s| s.story.published_at >= from && s.story.published_at < to)
            .take(5)
            .filter(|s| picked.contains(&s.story.id))
            .count() as f64
    });
    Figures {
        rho: spearman(&scores, &truth),
        at10,
        skipped,
    }
}

/// Spearman's ρ: Pearson's correlation of the ranks (ties averaged).
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (ranks(a), ranks(b));
    let n = a.len() as f64;
    let mean = (n + 1.0) / 2.0;
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in ra.iter().zip(&rb) {
        cov += (x - mean) * (y - mean);
        va += (x - mean).powi(2);
        vb += (y - mean).powi(2);
    }
    cov / (va * vb).sqrt()
}

fn ranks(v: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..v.len()).collect();
    order.sort_by(|&i, &j| v[i].total_cmp(&v[j]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && v[order[j + 1]] == v[order[i]] {
            j += 1;
        }
        let rank = (i + j) as f64 / 2.0 + 1.0;
        for &k in &order[i..=j] {
            r[k] = rank;
        }
        i = j + 1;
    }
    r
}
