//! Golden tests for the ranking's promises (README, "Ranking"): in a daily
//! digest a story's engagement rate beats its youth; a weekly digest holds
//! the week's best, not yesterday's; a digest after an outage holds the
//! skipped day's best unless it was already sent. Each builds a small,
//! plausible edition with the built-in rules and selects through the real
//! walk.

use chrono::{DateTime, Duration, Utc};

use super::*;
use crate::testing::{RULES, at, story, subscriber};

/// Three top stories, no blog posts, no author limit.
const RULES3: Rules = Rules {
    max_stories: 3,
    max_blog_posts: 0,
    ..RULES
};

/// A story published `hours_ago` before `now` with `votes` votes.
fn s(id: i64, now: DateTime<Utc>, hours_ago: f64, votes: i64) -> Story {
    story(id)
        .published(now - Duration::seconds((hours_ago * 3600.0) as i64))
        .votes(votes)
        .build()
}

/// A day's ordinary traffic: `n` stories between `from` and `to` hours ago,
/// with votes around `votes`.
fn background(first_id: i64, now: DateTime<Utc>, from: f64, to: f64, n: i64, votes: i64) -> Vec<Story> {
    (0..n)
        .map(|k| {
            let hours_ago = from + (to - from) * (k as f64 + 0.5) / n as f64;
            s(first_id + k, now, hours_ago, votes + (k % 3) * votes / 4)
        })
        .collect()
}

fn picked(pool: &Pool, digest: &Digest) -> Vec<i64> {
    digest.top_stories.iter().map(|&i| pool.get(i).story.id).collect()
}

fn reader(frequency: Frequency) -> Subscriber {
    let mut s = subscriber("ana@example.com").build();
    s.frequency = frequency;
    s
}

fn since(last_sent_at: DateTime<Utc>) -> History {
    History {
        last_sent_at: Some(last_sent_at),
        sent_story_ids: Default::default(),
    }
}

/// One line per story: id, score and its parts.
fn table(pool: &Pool, now: DateTime<Utc>, rules: &Rules) -> String {
    pool.ranked
        .iter()
        .zip(pool.parts(now, rules))
        .map(|(sc, p)| {
            format!(
                "story {:<3} period {} E {:>4} exposure {:>5.2} h rate {:>6.2}/h m {:>5.2}/h score {:>5.2}\n",
                sc.story.id, p.period, p.engagement, p.exposure, p.rate, p.period_rate, sc.score
            )
        })
        .collect()
}

#[test]
fn daily_a_morning_story_with_four_times_the_rate_beats_a_just_published_one() {
    // A 13:00 digest. Story 1 came out at 06:00 and has gathered 4x the
    // votes per hour of exposure that story 2, out at 12:40, has.
    let now = at("2026-03-10T13:00:00Z");
    let rules = RULES3;
    let morning_exposure = rules.exposure_hours * (1.0 - (-7.0 / rules.exposure_hours).exp());
    let young_exposure = rules.exposure_hours * (1.0 - (-(1.0 / 3.0) / rules.exposure_hours).exp());
    let young_votes = 6;
    let morning_votes = (4.0 * young_votes as f64 / young_exposure * morning_exposure).round() as i64;
    let mut stories = vec![s(1, now, 7.0, morning_votes), s(2, now, 1.0 / 3.0, young_votes)];
    stories.extend(background(10, now, 0.5, 23.5, 20, 30));
    let pool = Pool::rank(stories, now, &rules);
    let digest = select(
        &pool,
        &reader(Frequency::Daily),
        &since(now - Duration::hours(24)),
        now,
        &rules,
    );
    let got = picked(&pool, &digest);
    let position = |id: i64| pool.ranked.iter().position(|sc| sc.story.id == id).unwrap();
    assert!(position(1) < position(2), "{}", table(&pool, now, &rules));
    assert_eq!(got[0], 1, "{}", table(&pool, now, &rules));
    expect_test::expect![[r#"
        story 1   period 0 E  306 exposure  4.13 h rate  74.06/h m 10.91/h score  4.90
        story 10  period 0 E   30 exposure  0.98 h rate  30.48/h m 10.91/h score  1.59
        story 11  period 0 E   37 exposure  1.86 h rate  19.90/h m 10.91/h score  1.40
        story 12  period 0 E   45 exposure  2.58 h rate  17.43/h m 10.91/h score  1.34
        story 2   period 0 E    6 exposure  0.32 h rate  18.50/h m 10.91/h score  1.10
        story 15  period 0 E   45 exposure  4.08 h rate  11.04/h m 10.91/h score  1.01
        story 14  period 0 E   37 exposure  3.67 h rate  10.08/h m 10.91/h score  0.95
        story 13  period 0 E   30 exposure  3.18 h rate   9.44/h m 10.91/h score  0.92
        story 18  period 0 E   45 exposure  4.92 h rate   9.15/h m 10.91/h score  0.89
        story 21  period 0 E   45 exposure  5.39 h rate   8.35/h m 10.91/h score  0.83
        story 17  period 0 E   37 exposure  4.69 h rate   7.89/h m 10.91/h score  0.81
        story 24  period 0 E   45 exposure  5.66 h rate   7.95/h m 10.91/h score  0.80
        story 27  period 0 E   45 exposure  5.81 h rate   7.75/h m 10.91/h score  0.78
        story 20  period 0 E   37 exposure  5.26 h rate   7.03/h m 10.91/h score  0.74
        story 16  period 0 E   30 exposure  4.41 h rate   6.80/h m 10.91/h score  0.74
        story 23  period 0 E   37 exposure  5.58 h rate   6.63/h m 10.91/h score  0.71
        story 26  period 0 E   37 exposure  5.77 h rate   6.42/h m 10.91/h score  0.69
        story 29  period 0 E   37 exposure  5.87 h rate   6.30/h m 10.91/h score  0.69
        story 19  period 0 E   30 exposure  5.11 h rate   5.88/h m 10.91/h score  0.67
        story 22  period 0 E   30 exposure  5.50 h rate   5.46/h m 10.91/h score  0.63
        story 25  period 0 E   30 exposure  5.72 h rate   5.25/h m 10.91/h score  0.62
        story 28  period 0 E   30 exposure  5.84 h rate   5.14/h m 10.91/h score  0.61
    "#]]
    .assert_eq(&table(&pool, now, &rules));
}

#[test]
fn weekly_holds_the_weeks_best_not_yesterdays() {
    // A Monday 07:00 weekly digest. Every day has its ordinary stories;
    // three stood out (500 votes six days ago, 400 four days ago, 300
    // two days ago); yesterday had a busy evening of small stories and
    // one published two hours ago has 10 votes.
    let now = at("2026-03-16T07:00:00Z");
    let mut stories = Vec::new();
    for day in 0..7 {
        let from = day as f64 * 24.0 + 1.0;
        stories.extend(background(100 + day * 10, now, from, from + 22.0, 6, 40));
    }
    stories.push(s(1, now, 6.0 * 24.0 + 3.0, 500));
    stories.push(s(2, now, 4.0 * 24.0 + 10.0, 400));
    stories.push(s(3, now, 2.0 * 24.0 + 5.0, 300));
    stories.push(s(4, now, 2.0, 10));
    stories.extend(background(200, now, 3.0, 9.0, 4, 60));
    let pool = Pool::rank(stories, now, &RULES3);
    let digest = select(
        &pool,
        &reader(Frequency::Weekly),
        &since(now - Duration::days(7)),
        now,
        &RULES3,
    );
    assert_eq!(
        picked(&pool, &digest),
        [1, 2, 3],
        "{}",
        table(&pool, now, &RULES3)
    );
}

/// Yesterday's (skipped) and today's stories, each day with a clear best.
fn two_days(now: DateTime<Utc>) -> Vec<Story> {
    let mut stories = Vec::new();
    // Yesterday's period (24 to 48 hours before now): best 1, then 2.
    stories.push(s(1, now, 30.0, 420));
    stories.push(s(2, now, 34.0, 300));
    stories.extend(background(100, now, 25.0, 47.0, 15, 40));
    // Today's: best 3, then 4, 5.
    stories.push(s(3, now, 10.0, 500));
    stories.push(s(4, now, 12.0, 450));
    stories.push(s(5, now, 6.0, 380));
    stories.extend(background(200, now, 1.0, 23.0, 15, 60));
    stories
}

#[test]
fn catch_up_after_a_skipped_day_holds_its_best() {
    // The 2026-03-09 digest was skipped (the daemon was down from 06:00
    // to 14:00, beyond schedule.grace); the next one, at 07:00 on the
    // 10th, reaches back to the last one sent, on the 8th.
    let now = at("2026-03-10T07:00:00Z");
    let pool = Pool::rank(two_days(now), now, &RULES3);
    let history = since(now - Duration::hours(48));
    let digest = select(&pool, &reader(Frequency::Daily), &history, now, &RULES3);
    assert_eq!(digest.window_start, now - Duration::hours(48));
    let got = picked(&pool, &digest);
    assert!(
        got.contains(&1),
        "the skipped day's best: {got:?}\n{}",
        table(&pool, now, &RULES3)
    );
    assert!(got.contains(&3), "today's best: {got:?}");

    // Unless it was already sent: then the skipped day's next best.
    let mut history = history;
    history.sent_story_ids.insert(1);
    let digest = select(&pool, &reader(Frequency::Daily), &history, now, &RULES3);
    let got = picked(&pool, &digest);
    assert!(!got.contains(&1) && got.contains(&2), "{got:?}");
}

#[test]
fn catch_up_after_an_eight_hour_outage_within_grace() {
    // Down from 03:00 to 11:00: the 07:00 digest goes out at 11:00, four
    // hours late (within schedule.grace), its window 28 hours from the
    // last one; the morning's stories are in it, and so is the previous
    // day's best that came out after that last digest.
    let now = at("2026-03-10T11:00:00Z");
    let mut stories = vec![s(1, now, 26.0, 420), s(2, now, 3.0, 200)];
    stories.extend(background(100, now, 5.0, 27.5, 20, 40));
    let pool = Pool::rank(stories, now, &RULES3);
    let digest = select(
        &pool,
        &reader(Frequency::Daily),
        &since(now - Duration::hours(28)),
        now,
        &RULES3,
    );
    let got = picked(&pool, &digest);
    assert!(
        got.contains(&1) && got.contains(&2),
        "{got:?}\n{}",
        table(&pool, now, &RULES3)
    );
}
