//! The delivery engine: for one edition, queue every due subscriber, then
//! repeatedly claim a batch of rows from the ledger, select, render,
//! compose and send each digest, and record the outcomes. "Claim, send,
//! record" lives only here, so retries, concurrency and crash recovery grow
//! in one place. It holds no SQL (the store does) and no lettre (mail does).

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};

use crate::config::Config;
use crate::domain::{Subscriber, SubscriberStatus};
use crate::mail::{Composer, Email, Mailer, Outgoing, SendError};
use crate::render::{EditionBlocks, Recipient, Rendered, Renderer, Site};
use crate::select::{self, Digest, Edition, History, Pool, Rules, Verdict};
use crate::store::{Claim, Outcome, Store, StoryFilter};
use crate::templates::TemplateSources;

/// Rows claimed per round trip to the store.
const CLAIM_BATCH: i64 = 200;
/// How long a claim protects a row; a worker that dies holding it loses it
/// after this, and the row is sent again (with the same Message-ID).
const LEASE: Duration = Duration::minutes(5);
/// Delay before retrying a transient failure.
const RETRY_DELAY: Duration = Duration::minutes(5);

/// What a run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RunSummary {
    pub sent: u64,
    pub skipped: u64,
    pub deferred: u64,
    pub failed: u64,
}

impl RunSummary {
    fn count(&mut self, outcome: &Outcome) {
        match outcome {
            Outcome::Sent { .. } => self.sent += 1,
            Outcome::Skipped { .. } => self.skipped += 1,
            Outcome::Deferred { .. } => self.deferred += 1,
            Outcome::Failed { .. } => self.failed += 1,
        }
    }
}

/// Everything needed to turn ledger rows into sent digests.
pub struct Engine {
    pub store: Store,
    pub renderer: Arc<Renderer>,
    pub composer: Arc<Composer>,
    pub mailer: Mailer,
    pub rules: Rules,
}

/// One subscriber's digest, selected and rendered, not sent.
pub struct Preview {
    pub pool: Pool,
    pub digest: Digest,
    pub verdicts: Vec<(usize, Verdict)>,
    pub rendered: Option<Rendered>,
    pub message_id: String,
}

impl Engine {
    /// Builds the engine from the configuration: templates are compiled and
    /// checked, the transport is built once.
    pub fn new(config: &Config, store: Store) -> anyhow::Result<Engine> {
        let sources = TemplateSources::load(config.digest.templates_dir.as_deref())?;
        let site = Site {
            name: config.site.name.to_string(),
            postal_address: config.site.postal_address.clone(),
            url: config.site.public_url.to_string(),
        };
        let renderer = Renderer::new(&sources, site, config.digest.max_html_bytes)?;
        let composer = Composer::new(&config.mail, config.site.name.as_str(), &config.site.public_url)?;
        let mailer = Mailer::new(&config.mail, &config.delivery)?;
        let d = &config.digest;
        let rules = Rules {
            comment_weight: d.comment_weight,
            gravity: d.gravity,
            max_stories: d.max_stories,
            max_blog_posts: d.max_blog_posts,
            max_per_author: d.max_per_author,
        };
        Ok(Engine {
            store,
            renderer: Arc::new(renderer),
            composer: Arc::new(composer),
            mailer,
            rules,
        })
    }

    /// The ranked stories an edition can draw from: everything published in
    /// the longest possible window (two periods) up to `now`.
    pub async fn pool(&self, edition: &Edition, now: DateTime<Utc>) -> anyhow::Result<Pool> {
        let filter = StoryFilter {
            since: Some(now - edition.frequency.period() * 2),
            until: Some(now + Duration::seconds(1)),
            kind: None,
            limit: 100_000,
        };
        let stories = self
            .store
            .list_stories(&filter)
            .await
            .context("loading the edition's stories")?;
        Ok(Pool::rank(stories, now, &self.rules))
    }

    /// Sends an edition to every active subscriber of its frequency (or to
    /// `only` those) who has not had it yet. Safe to run again, and from
    /// several processes at once: each row is claimed by one of them.
    pub async fn run_edition(
        &self,
        edition: Edition,
        now: DateTime<Utc>,
        only: Option<&[i64]>,
    ) -> anyhow::Result<RunSummary> {
        let started = Instant::now();
        let edition_id = self.store.ensure_edition(&edition).await?;
        let queued = self.store.enqueue(edition_id, edition.frequency, only).await?;
        let pool = self.pool(&edition, now).await?;
        tracing::info!(edition = %edition.key(), queued, stories = pool.ranked.len(), "edition started");
        let blocks = self.renderer.edition(&pool, edition);
        let mut summary = RunSummary::default();
        loop {
            let claims = self
                .store
                .claim(edition_id, CLAIM_BATCH, Utc::now() + LEASE)
                .await?;
            if claims.is_empty() {
                break;
            }
            let results = self.process(&blocks, &edition, &claims, now).await?;
            for (_, outcome) in &results {
                summary.count(outcome);
            }
            self.store.finish(&results).await?;
        }
        let secs = started.elapsed().as_secs_f64();
        tracing::info!(
            edition = %edition.key(),
            sent = summary.sent,
            skipped = summary.skipped,
            deferred = summary.deferred,
            failed = summary.failed,
            seconds = secs,
            "edition finished"
        );
        Ok(summary)
    }

    async fn process(
        &self,
        blocks: &EditionBlocks<'_>,
        edition: &Edition,
        claims: &[Claim],
        now: DateTime<Utc>,
    ) -> anyhow::Result<Vec<(i64, Outcome)>> {
        let ids: Vec<i64> = claims.iter().map(|c| c.subscriber_id).collect();
        let subscribers = self.store.subscribers_by_id(&ids).await?;
        let histories = self
            .store
            .histories(&ids, edition.frequency, now - edition.frequency.period() * 2)
            .await?;
        let mut results = Vec::with_capacity(claims.len());
        for claim in claims {
            let outcome = match subscribers.get(&claim.subscriber_id) {
                Some(s) if s.status == SubscriberStatus::Active => {
                    let history = histories.get(&s.id).cloned().unwrap_or_default();
                    self.deliver_one(blocks, edition, s, &history, now).await
                }
                Some(s) => Outcome::Skipped {
                    reason: format!("subscriber is {}", s.status),
                },
                None => Outcome::Skipped {
                    reason: "subscriber removed".into(),
                },
            };
            results.push((claim.delivery_id, outcome));
        }
        Ok(results)
    }

    async fn deliver_one(
        &self,
        blocks: &EditionBlocks<'_>,
        edition: &Edition,
        s: &Subscriber,
        history: &History,
        now: DateTime<Utc>,
    ) -> Outcome {
        let digest = select::select(blocks.pool(), s, history, now, &self.rules);
        if digest.is_empty() {
            return Outcome::Skipped {
                reason: "nothing new".into(),
            };
        }
        let message_id = self.composer.message_id(edition, &s.token);
        let rendered = match self.renderer.render(blocks, &digest, recipient(s)) {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Failed {
                    message_id: Some(message_id),
                    error: format!("rendering: {e:#}"),
                };
            }
        };
        let message = match self.compose(s, &rendered, &message_id, None) {
            Ok(m) => m,
            Err(e) => {
                return Outcome::Failed {
                    message_id: Some(message_id),
                    error: format!("composing: {e:#}"),
                };
            }
        };
        match self.mailer.send(&message).await {
            Ok(()) => Outcome::Sent {
                message_id,
                story_ids: rendered.story_ids,
                at: crate::store::now(),
            },
            Err(e @ SendError::Permanent(_)) => Outcome::Failed {
                message_id: Some(message_id),
                error: e.to_string(),
            },
            Err(e @ SendError::Transient { .. }) => Outcome::Deferred {
                message_id: Some(message_id),
                error: e.to_string(),
                retry_at: Utc::now() + RETRY_DELAY,
            },
        }
    }

    /// Composes a subscriber's message; `test_to` replaces the recipient and
    /// marks the subject "[TEST]".
    pub fn compose(
        &self,
        s: &Subscriber,
        rendered: &Rendered,
        message_id: &str,
        test_to: Option<&str>,
    ) -> anyhow::Result<Email> {
        let subject = match test_to {
            Some(_) => format!("[TEST] {}", rendered.subject),
            None => rendered.subject.clone(),
        };
        let unsubscribe_url = crate::render::unsubscribe_url(&self.renderer.site().url, &s.token);
        self.composer.compose(&Outgoing {
            to_email: test_to.unwrap_or(s.email.as_str()),
            to_name: if test_to.is_some() { "" } else { &s.name },
            subject: &subject,
            html: &rendered.html,
            text: &rendered.text,
            message_id,
            unsubscribe_url: &unsubscribe_url,
            token: &s.token,
        })
    }

    /// Renders and counts an edition without sending or recording anything.
    pub async fn dry_run(&self, edition: Edition, now: DateTime<Utc>) -> anyhow::Result<RunSummary> {
        let pool = self.pool(&edition, now).await?;
        let blocks = self.renderer.edition(&pool, edition);
        let mut summary = RunSummary::default();
        let mut after = 0;
        loop {
            let page = self
                .store
                .list_subscribers(Some(SubscriberStatus::Active), after, 1000)
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let page: Vec<&Subscriber> = page.iter().filter(|s| s.frequency == edition.frequency).collect();
            let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
            let histories = self
                .store
                .histories(&ids, edition.frequency, now - edition.frequency.period() * 2)
                .await?;
            for s in page {
                let history = histories.get(&s.id).cloned().unwrap_or_default();
                let digest = select::select(&pool, s, &history, now, &self.rules);
                if digest.is_empty() {
                    summary.skipped += 1;
                    continue;
                }
                match self.renderer.render(&blocks, &digest, recipient(s)) {
                    Ok(_) => summary.sent += 1,
                    Err(e) => {
                        tracing::warn!(subscriber_id = s.id, error = %format!("{e:#}"), "rendering failed");
                        summary.failed += 1;
                    }
                }
            }
        }
        Ok(summary)
    }

    /// Selects and renders one subscriber's digest, recording nothing.
    pub async fn preview(
        &self,
        s: &Subscriber,
        edition: Edition,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Preview> {
        let pool = self.pool(&edition, now).await?;
        let histories = self
            .store
            .histories(&[s.id], edition.frequency, now - edition.frequency.period() * 2)
            .await?;
        let history = histories.get(&s.id).cloned().unwrap_or_default();
        let (digest, verdicts) = select::explain(&pool, s, &history, now, &self.rules);
        let rendered = if digest.is_empty() {
            None
        } else {
            let blocks = self.renderer.edition(&pool, edition);
            Some(self.renderer.render(&blocks, &digest, recipient(s))?)
        };
        let message_id = self.composer.message_id(&edition, &s.token);
        Ok(Preview {
            pool,
            digest,
            verdicts,
            rendered,
            message_id,
        })
    }
}

fn recipient(s: &Subscriber) -> Recipient<'_> {
    Recipient {
        name: &s.name,
        email: s.email.as_str(),
        token: &s.token,
    }
}
