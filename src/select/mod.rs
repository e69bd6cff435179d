//! Selection: which stories go into a subscriber's digest. Pure code, no IO
//! and no clock: the caller passes `now`, the stories, and what the
//! subscriber was sent before. Stories are scored once per edition
//! ([`Pool::rank`], with the rules of [`rank`]); each subscriber's digest is
//! then one walk down the ranked list ([`select`]), cheap enough to run for
//! every subscriber. With [`Languages::TheirsFirst`] the walk goes down the
//! list twice, the stories in the reader's language first, then the others
//! (each in rank order), so a digest fills up with other languages when
//! the reader's are too few; with [`Languages::All`] it is the one walk it
//! always was.

pub mod rank;

#[cfg(test)]
mod golden;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::domain::{Frequency, History, Language, Story, StoryKind, Subscriber};
pub use rank::{Parts, Ranker};

/// The ranking and size rules, from the `digest` configuration.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// What a comment counts for, in votes.
    pub comment_weight: f64,
    /// Hours over which a story gathers most of its engagement: its
    /// exposure saturates there ([`rank`]).
    pub exposure_hours: f64,
    /// The prior's weight, in hours of exposure at the period's average rate.
    pub prior_hours: f64,
    /// The length of a ranking period, in hours.
    pub period_hours: f64,
    pub max_stories: usize,
    pub max_blog_posts: usize,
    pub max_per_author: usize,
    /// Whether a reader's language goes first (`digest.story_languages`).
    pub languages: Languages,
}

/// Which stories a digest puts first by language (`digest.story_languages`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Languages {
    /// Rank order, whatever the language (`"all"`, the default).
    All,
    /// The stories in the reader's language (their locale's primary
    /// language, else the site's) ahead of the others, each group in rank
    /// order (`"theirs_first"`).
    TheirsFirst {
        /// The site's language (`site.locale`): a reader's without a
        /// locale, and a story's without a `lang`.
        site: Language,
    },
}

impl Languages {
    /// The names `digest.story_languages` takes.
    pub const NAMES: [&str; 2] = ["all", "theirs_first"];

    /// The reader's language, when it goes first.
    pub fn reader(self, subscriber: &Subscriber) -> Option<Language> {
        match self {
            Languages::All => None,
            Languages::TheirsFirst { site } => {
                Some(subscriber.locale.as_ref().map_or(site, |l| l.primary_language()))
            }
        }
    }

    /// The site's language, when the reader's goes first.
    pub fn site(self) -> Option<Language> {
        match self {
            Languages::All => None,
            Languages::TheirsFirst { site } => Some(site),
        }
    }

    /// The language a story counts as: its own, else the site's. `None`
    /// with [`Languages::All`], which never asks.
    pub fn of(self, story: &Story) -> Option<Language> {
        match self {
            Languages::All => None,
            Languages::TheirsFirst { site } => {
                Some(story.lang.as_ref().map_or(site, |l| l.primary_language()))
            }
        }
    }
}

/// A story with its score for this edition.
#[derive(Debug, Clone, Serialize)]
pub struct Scored {
    pub story: Story,
    pub score: f64,
}

/// The stories of an edition, best first.
#[derive(Debug, Clone, Default)]
pub struct Pool {
    pub ranked: Vec<Scored>,
}

/// The items of one digest, as indexes into the [`Pool`], best first: in
/// rank order (pool order), except that the items of `first` come before
/// the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Digest {
    pub top_stories: Vec<usize>,
    pub blog_posts: Vec<usize>,
    pub window_start: DateTime<Utc>,
    pub window_end: DateTime<Utc>,
    /// The items in the reader's language when [`Languages::TheirsFirst`]
    /// put them first (in pool order); empty otherwise.
    pub first: Vec<usize>,
}

/// Why a candidate was or was not picked, for `preview --explain`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Picked,
    /// Published before the window opened (or after now).
    OutsideWindow,
    /// Its section is not among the subscriber's topics.
    NotInTopics,
    /// Sent to this subscriber in an earlier digest.
    AlreadySent,
    /// The digest already has `max_per_author` items by this author.
    AuthorLimit,
    /// Its section of the digest was already full.
    SectionFull,
}

impl Verdict {
    pub fn describe(self) -> &'static str {
        match self {
            Verdict::Picked => "picked",
            Verdict::OutsideWindow => "left out: published outside the window",
            Verdict::NotInTopics => "left out: section not among the subscriber's topics",
            Verdict::AlreadySent => "left out: already sent to this subscriber",
            Verdict::AuthorLimit => "left out: author limit reached",
            Verdict::SectionFull => "left out: section full",
        }
    }
}

/// A subscriber's window: from their previous digest (or one period back
/// when there is none) to `now`, but never more than two periods back, so
/// that an outage does not end in a stale flood.
pub fn window(
    frequency: Frequency,
    now: DateTime<Utc>,
    last_sent_at: Option<DateTime<Utc>>,
) -> (DateTime<Utc>, DateTime<Utc>) {
    let period = frequency.period();
    let earliest = now - period * 2;
    let start = last_sent_at.unwrap_or(now - period).max(earliest).min(now);
    (start, now)
}

impl Pool {
    /// Scores every story once for this edition ([`Ranker`]) and sorts them
    /// best first; ties go to the more recent story, then the lower id
    /// (deterministic).
    pub fn rank(stories: Vec<Story>, now: DateTime<Utc>, rules: &Rules) -> Pool {
        let ranker = Ranker::new(&stories, now, rules);
        let mut ranked: Vec<Scored> = stories
            .into_iter()
            .map(|story| Scored {
                score: ranker.parts(&story).score,
                story,
            })
            .collect();
        ranked.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then(b.story.published_at.cmp(&a.story.published_at))
                .then(a.story.id.cmp(&b.story.id))
        });
        Pool { ranked }
    }

    pub fn get(&self, index: usize) -> &Scored {
        &self.ranked[index]
    }

    /// The parts of every story's score, in pool order, measured again as
    /// [`Pool::rank`] measured them (for `preview --explain`).
    pub fn parts(&self, now: DateTime<Utc>, rules: &Rules) -> Vec<Parts> {
        let ranker = Ranker::new(self.ranked.iter().map(|s| &s.story), now, rules);
        self.ranked.iter().map(|s| ranker.parts(&s.story)).collect()
    }
}

impl Digest {
    pub fn is_empty(&self) -> bool {
        self.top_stories.is_empty() && self.blog_posts.is_empty()
    }

    pub fn len(&self) -> usize {
        self.top_stories.len() + self.blog_posts.len()
    }

    /// All items, best first: pool indexes are in rank order, and the
    /// items of [`Digest::first`] come before the rest.
    pub fn items(&self) -> impl Iterator<Item = usize> + '_ {
        let mut all: Vec<usize> = self.top_stories.iter().chain(&self.blog_posts).copied().collect();
        if self.first.is_empty() {
            all.sort_unstable();
        } else {
            all.sort_unstable_by_key(|i| (!self.first.contains(i), *i));
        }
        all.into_iter()
    }

    /// Whether [`Digest::first`] moved an item ahead of a better-ranked one.
    pub fn reordered(&self) -> bool {
        !self.first.is_empty() && !self.items().is_sorted()
    }

    /// Removes the last item of [`Digest::items`] (the lowest-ranked one,
    /// or the lowest of the other languages when the reader's go first);
    /// used to fit a size limit.
    pub fn drop_lowest(&mut self) -> Option<usize> {
        let last = self.items().last()?;
        for list in [&mut self.top_stories, &mut self.blog_posts, &mut self.first] {
            list.retain(|&i| i != last);
        }
        Some(last)
    }
}

/// Picks a subscriber's digest from the ranked pool.
pub fn select(
    pool: &Pool,
    subscriber: &Subscriber,
    history: &History,
    now: DateTime<Utc>,
    rules: &Rules,
) -> Digest {
    walk(pool, subscriber, history, now, rules, false, |_, _| {})
}

/// Like [`select`], also returning the verdict on every story in the pool.
pub fn explain(
    pool: &Pool,
    subscriber: &Subscriber,
    history: &History,
    now: DateTime<Utc>,
    rules: &Rules,
) -> (Digest, Vec<(usize, Verdict)>) {
    let mut verdicts = Vec::with_capacity(pool.ranked.len());
    let digest = walk(pool, subscriber, history, now, rules, true, |i, v| {
        verdicts.push((i, v))
    });
    (digest, verdicts)
}

fn walk(
    pool: &Pool,
    subscriber: &Subscriber,
    history: &History,
    now: DateTime<Utc>,
    rules: &Rules,
    explaining: bool,
    mut verdict: impl FnMut(usize, Verdict),
) -> Digest {
    let (window_start, window_end) = window(subscriber.frequency, now, history.last_sent_at);
    let mut walk = Walk {
        digest: Digest {
            window_start,
            window_end,
            ..Digest::default()
        },
        per_author: Vec::new(),
        subscriber,
        history,
        rules,
    };
    let ranked = pool.ranked.iter().enumerate();
    match rules.languages.reader(subscriber) {
        // The default: one walk in rank order, nothing asked of languages.
        None => walk.run(ranked.map(|(i, s)| (i, s, false)), explaining, &mut verdict),
        Some(theirs) => {
            let is_theirs = |s: &Scored| rules.languages.of(&s.story) == Some(theirs);
            let order = ranked
                .clone()
                .filter(|(_, s)| is_theirs(s))
                .map(|(i, s)| (i, s, true))
                .chain(ranked.filter(|(_, s)| !is_theirs(s)).map(|(i, s)| (i, s, false)));
            walk.run(order, explaining, &mut verdict);
        }
    }
    walk.digest
}

/// One subscriber's walk: the digest so far and the authors in it.
struct Walk<'a> {
    digest: Digest,
    // A digest has at most a few dozen items: a vector beats a map here.
    per_author: Vec<(&'a str, usize)>,
    subscriber: &'a Subscriber,
    history: &'a History,
    rules: &'a Rules,
}

impl<'a> Walk<'a> {
    /// Visits stories in `order` (pool index, story, whether it goes in
    /// [`Digest::first`] when picked) until the digest is full (or, when
    /// explaining, to the end).
    fn run(
        &mut self,
        order: impl Iterator<Item = (usize, &'a Scored, bool)>,
        explaining: bool,
        verdict: &mut impl FnMut(usize, Verdict),
    ) {
        let rules = self.rules;
        for (i, scored, first) in order {
            let v = self.visit(i, &scored.story);
            if v == Verdict::Picked && first {
                self.digest.first.push(i);
            }
            verdict(i, v);
            let full = self.digest.top_stories.len() >= rules.max_stories
                && self.digest.blog_posts.len() >= rules.max_blog_posts;
            if full && !explaining {
                break;
            }
        }
    }

    fn visit(&mut self, i: usize, story: &'a Story) -> Verdict {
        let (rules, digest) = (self.rules, &mut self.digest);
        let (section, max) = match story.kind {
            StoryKind::Story => (&mut digest.top_stories, rules.max_stories),
            StoryKind::Blog => (&mut digest.blog_posts, rules.max_blog_posts),
        };
        let v = if story.published_at < digest.window_start || story.published_at > digest.window_end {
            Verdict::OutsideWindow
        } else if !self.subscriber.topics.includes(&story.section) {
            Verdict::NotInTopics
        } else if self.history.sent_story_ids.contains(&story.id) {
            Verdict::AlreadySent
        } else if section.len() >= max {
            Verdict::SectionFull
        } else {
            let author = story.author.as_str();
            let count = self
                .per_author
                .iter_mut()
                .find(|(a, _)| !author.is_empty() && a.eq_ignore_ascii_case(author));
            match count {
                Some((_, n)) if *n >= rules.max_per_author => Verdict::AuthorLimit,
                Some((_, n)) => {
                    *n += 1;
                    Verdict::Picked
                }
                None => {
                    if !author.is_empty() {
                        self.per_author.push((author, 1));
                    }
                    Verdict::Picked
                }
            }
        };
        if v == Verdict::Picked {
            section.push(i);
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{at, subscriber};

    /// A story of the sample: what ranking and selection look at.
    fn story(
        id: i64,
        kind: StoryKind,
        section: &str,
        author: &str,
        published: &str,
        votes: i64,
        comments: i64,
    ) -> Story {
        crate::testing::story(id)
            .kind(kind)
            .section(section)
            .author(author)
            .published(at(published))
            .votes(votes)
            .comments(comments)
            .build()
    }

    fn ana(topics: &str) -> Subscriber {
        subscriber("ana@example.com").name("Ana").topics(topics).build()
    }

    const RULES: Rules = Rules {
        comment_weight: 2.0,
        exposure_hours: 6.0,
        prior_hours: 2.0,
        period_hours: 24.0,
        max_stories: 3,
        max_blog_posts: 1,
        max_per_author: 2,
        languages: Languages::All,
    };

    fn render(pool: &Pool, verdicts: &[(usize, Verdict)]) -> String {
        verdicts
            .iter()
            .map(|(i, v)| {
                let s = pool.get(*i);
                format!(
                    "{:<7.4} {:<5} {:<8} {:<6} {}: {}\n",
                    s.score,
                    s.story.kind.as_str(),
                    s.story.section,
                    s.story.author,
                    s.story.id,
                    v.describe()
                )
            })
            .collect()
    }

    fn sample() -> Vec<Story> {
        vec![
            story(
                1,
                StoryKind::Story,
                "world",
                "marta",
                "2026-03-10T05:00:00Z",
                100,
                10,
            ),
            story(
                2,
                StoryKind::Story,
                "world",
                "marta",
                "2026-03-10T04:00:00Z",
                90,
                10,
            ),
            story(
                3,
                StoryKind::Story,
                "world",
                "marta",
                "2026-03-10T03:00:00Z",
                80,
                10,
            ),
            story(
                4,
                StoryKind::Story,
                "sport",
                "tomas",
                "2026-03-10T02:00:00Z",
                10,
                1,
            ),
            story(
                5,
                StoryKind::Story,
                "science",
                "sven",
                "2026-03-08T02:00:00Z",
                1000,
                100,
            ),
            story(6, StoryKind::Blog, "data", "priya", "2026-03-10T01:00:00Z", 50, 5),
            story(7, StoryKind::Blog, "data", "priya", "2026-03-10T00:30:00Z", 40, 5),
            story(
                8,
                StoryKind::Story,
                "science",
                "sven",
                "2026-03-10T06:30:00Z",
                5,
                0,
            ),
            story(9, StoryKind::Story, "world", "", "2026-03-10T06:00:00Z", 1, 0),
            story(
                10,
                StoryKind::Story,
                "world",
                "chidi",
                "2026-03-10T08:00:00Z",
                500,
                0,
            ),
        ]
    }

    #[test]
    fn ranks_and_fills_sections_with_author_limit() {
        let now = at("2026-03-10T07:00:00Z");
        let pool = Pool::rank(sample(), now, &RULES);
        let history = History {
            last_sent_at: None,
            sent_story_ids: [2].into(),
        };
        let (digest, verdicts) = explain(&pool, &ana(""), &history, now, &RULES);
        expect_test::expect![[r#"
            8.5322  story world    chidi  10: left out: published outside the window
            1.5174  story world    marta  1: picked
            1.3824  story science  sven   5: left out: published outside the window
            1.2186  story world    marta  2: left out: already sent to this subscriber
            1.0190  story world    marta  3: picked
            0.8673  story science  sven   8: picked
            0.6950  story world           9: left out: section full
            0.6573  blog  data     priya  6: picked
            0.5874  blog  data     priya  7: left out: section full
            0.4379  story sport    tomas  4: left out: section full
        "#]]
        .assert_eq(&render(&pool, &verdicts));
        assert_eq!(digest.len(), 4);
        assert_eq!(select(&pool, &ana(""), &history, now, &RULES), digest);
    }

    #[test]
    fn topics_filter_and_author_cap() {
        let now = at("2026-03-10T07:00:00Z");
        let pool = Pool::rank(sample(), now, &RULES);
        let (digest, verdicts) = explain(&pool, &ana("World"), &History::default(), now, &RULES);
        expect_test::expect![[r#"
            8.5322  story world    chidi  10: left out: published outside the window
            1.5174  story world    marta  1: picked
            1.3824  story science  sven   5: left out: published outside the window
            1.2186  story world    marta  2: picked
            1.0190  story world    marta  3: left out: author limit reached
            0.8673  story science  sven   8: left out: section not among the subscriber's topics
            0.6950  story world           9: picked
            0.6573  blog  data     priya  6: left out: section not among the subscriber's topics
            0.5874  blog  data     priya  7: left out: section not among the subscriber's topics
            0.4379  story sport    tomas  4: left out: section not among the subscriber's topics
        "#]]
        .assert_eq(&render(&pool, &verdicts));
        assert!(digest.blog_posts.is_empty());
    }

    #[test]
    fn window_follows_previous_send_but_caps_at_two_periods() {
        let now = at("2026-03-10T07:00:00Z");
        assert_eq!(window(Frequency::Daily, now, None).0, at("2026-03-09T07:00:00Z"));
        assert_eq!(
            window(Frequency::Daily, now, Some(at("2026-03-09T19:00:00Z"))).0,
            at("2026-03-09T19:00:00Z")
        );
        assert_eq!(
            window(Frequency::Daily, now, Some(at("2026-03-01T07:00:00Z"))).0,
            at("2026-03-08T07:00:00Z")
        );
        assert_eq!(window(Frequency::Weekly, now, None).0, at("2026-03-03T07:00:00Z"));
    }

    #[test]
    fn nothing_new_is_an_empty_digest() {
        let now = at("2026-03-10T07:00:00Z");
        let pool = Pool::rank(sample(), now, &RULES);
        let history = History {
            last_sent_at: Some(at("2026-03-10T06:59:00Z")),
            sent_story_ids: std::collections::HashSet::new(),
        };
        assert!(select(&pool, &ana(""), &history, now, &RULES).is_empty());
    }

    /// Theirs first, on a site in English.
    fn theirs_first() -> Rules {
        Rules {
            languages: Languages::TheirsFirst {
                site: crate::domain::Locale::parse("en").unwrap().primary_language(),
            },
            max_stories: 5,
            max_per_author: 10,
            ..RULES
        }
    }

    /// Six stories, best first by votes: ar, en, (none: the site's), ar-JO,
    /// fr, ar, all in the window.
    fn languages_sample() -> Vec<Story> {
        [
            (1, Some("ar")),
            (2, Some("en")),
            (3, None),
            (4, Some("ar-JO")),
            (5, Some("fr")),
            (6, Some("ar")),
        ]
        .into_iter()
        .map(|(id, lang)| {
            let b = crate::testing::story(id)
                .published(at("2026-03-10T05:00:00Z"))
                .votes(100 - id * 10);
            match lang {
                Some(tag) => b.lang(tag).build(),
                None => b.build(),
            }
        })
        .collect()
    }

    fn ids(pool: &Pool, digest: &Digest) -> Vec<i64> {
        digest.items().map(|i| pool.get(i).story.id).collect()
    }

    #[test]
    fn theirs_first_puts_the_readers_language_ahead_in_rank_order() {
        let now = at("2026-03-10T07:00:00Z");
        let pool = Pool::rank(languages_sample(), now, &theirs_first());
        let rank: Vec<i64> = pool.ranked.iter().map(|s| s.story.id).collect();
        assert_eq!(rank, [1, 2, 3, 4, 5, 6], "the sample's rank order");
        let arabic = subscriber("rana@example.com").locale("ar-JO").build();
        let english = subscriber("ann@example.com").locale("en-GB").build();
        let french = subscriber("luc@example.com").locale("fr").build();
        let site = subscriber("sam@example.com").build();
        let none = History::default();
        let rules = theirs_first();
        let pick = |s: &Subscriber| ids(&pool, &select(&pool, s, &none, now, &rules));
        // Regions do not matter (ar-JO reads ar); a story without a lang is
        // the site's (en); a reader without a locale reads the site's.
        assert_eq!(pick(&arabic), [1, 4, 6, 2, 3]);
        assert_eq!(pick(&english), [2, 3, 1, 4, 5]);
        assert_eq!(pick(&french), [5, 1, 2, 3, 4]);
        assert_eq!(pick(&site), pick(&english));
        // The default keeps rank order for everyone.
        let all = |s: &Subscriber| {
            ids(
                &pool,
                &select(
                    &pool,
                    s,
                    &none,
                    now,
                    &Rules {
                        languages: Languages::All,
                        ..rules
                    },
                ),
            )
        };
        assert_eq!(all(&arabic), [1, 2, 3, 4, 5]);
        assert_eq!(all(&arabic), all(&english));
        let d = select(
            &pool,
            &arabic,
            &none,
            now,
            &Rules {
                languages: Languages::All,
                ..rules
            },
        );
        assert!(d.first.is_empty() && !d.reordered());
    }

    #[test]
    fn theirs_first_fills_up_with_other_languages_and_keeps_the_other_rules() {
        let now = at("2026-03-10T07:00:00Z");
        let rules = Rules {
            max_stories: 4,
            ..theirs_first()
        };
        let pool = Pool::rank(languages_sample(), now, &rules);
        let arabic = subscriber("rana@example.com").locale("ar").build();
        // Story 4 was sent already: two Arabic stories, then the best two
        // of the others.
        let history = History {
            last_sent_at: None,
            sent_story_ids: [4].into(),
        };
        let (digest, verdicts) = explain(&pool, &arabic, &history, now, &rules);
        assert_eq!(ids(&pool, &digest), [1, 6, 2, 3]);
        assert!(digest.reordered());
        let considered: Vec<(i64, Verdict)> = verdicts
            .iter()
            .map(|(i, v)| (pool.get(*i).story.id, *v))
            .collect();
        assert_eq!(
            considered,
            [
                (1, Verdict::Picked),
                (4, Verdict::AlreadySent),
                (6, Verdict::Picked),
                (2, Verdict::Picked),
                (3, Verdict::Picked),
                (5, Verdict::SectionFull),
            ],
            "explain lists the candidates in the order considered"
        );
        assert_eq!(select(&pool, &arabic, &history, now, &rules), digest);
        // Only the Arabic stories, all in rank order already: nothing moved.
        let few = Rules {
            max_stories: 2,
            ..rules
        };
        let d = select(&pool, &arabic, &History::default(), now, &few);
        assert_eq!(ids(&pool, &d), [1, 4]);
        assert!(!d.reordered());
        // With no story in the reader's language, the digest is the default's.
        let german = subscriber("jan@example.com").locale("de").build();
        let d = select(&pool, &german, &History::default(), now, &rules);
        assert_eq!(ids(&pool, &d), [1, 2, 3, 4]);
        assert!(d.first.is_empty());
    }

    #[test]
    fn drop_lowest_drops_the_other_languages_first() {
        // Pool indexes 3 and 5 are the reader's: they lead, and the
        // lowest of the rest goes first.
        let mut d = Digest {
            top_stories: vec![3, 0, 1],
            blog_posts: vec![5, 2],
            first: vec![3, 5],
            ..Digest::default()
        };
        assert_eq!(d.items().collect::<Vec<_>>(), [3, 5, 0, 1, 2]);
        assert!(d.reordered());
        assert_eq!(d.drop_lowest(), Some(2));
        assert_eq!(d.drop_lowest(), Some(1));
        assert_eq!(d.drop_lowest(), Some(0));
        assert_eq!(d.drop_lowest(), Some(5));
        assert_eq!(
            (d.top_stories.clone(), d.blog_posts.clone(), d.first.clone()),
            (vec![3], vec![], vec![3])
        );
        assert_eq!(d.drop_lowest(), Some(3));
        assert_eq!(d.drop_lowest(), None);
    }

    #[test]
    fn drop_lowest_removes_the_worst_item() {
        let mut d = Digest {
            top_stories: vec![0, 1, 5],
            blog_posts: vec![2, 7],
            ..Digest::default()
        };
        assert_eq!(d.drop_lowest(), Some(7));
        assert_eq!(d.drop_lowest(), Some(5));
        assert_eq!(d.items().collect::<Vec<_>>(), [0, 1, 2]);
    }
}
