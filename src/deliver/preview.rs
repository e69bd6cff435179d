//! Looking without sending: `preview` selects and renders one subscriber's
//! digest (for `herald preview` and test sends), `dry_run` renders and
//! counts a whole edition. Both use the engine's own selection and
//! rendering, and the dry run asks the store for exactly the subscribers
//! `enqueue` would queue at the same `now`; neither records anything.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::{Engine, RunSummary, recipient};
use crate::domain::{Edition, Subscriber, Tally};
use crate::render::Rendered;
use crate::select::{self, Digest, Parts, Pool, Rules, Verdict};

/// Subscribers rendered per page of a dry run.
const PAGE: i64 = 1000;

/// One subscriber's digest, selected and rendered, not sent.
pub struct Preview {
    pub pool: Arc<Pool>,
    pub digest: Digest,
    pub verdicts: Vec<(usize, Verdict)>,
    /// The parts of each pool story's score, in pool order.
    pub parts: Vec<Parts>,
    /// The rules they were scored and selected with.
    pub rules: Rules,
    pub rendered: Option<Rendered>,
    pub message_id: String,
}

impl Engine {
    /// Renders and counts an edition without sending or recording anything.
    pub async fn dry_run(&self, edition: Edition, now: DateTime<Utc>) -> anyhow::Result<RunSummary> {
        let pool = Arc::new(self.pool(&edition, now).await?);
        let blocks = self.renderer.edition(pool.clone(), edition);
        let mut tally = Tally::default();
        let mut after = 0;
        loop {
            let page = self.store.receiving(edition.frequency, now, after, PAGE).await?;
            let Some(last) = page.last() else { break };
            after = last.id;
            let ids: Vec<i64> = page.iter().map(|s| s.id).collect();
            let histories = self
                .store
                .histories(&ids, edition.frequency, now - edition.frequency.period() * 2)
                .await?;
            for s in &page {
                let history = histories.get(&s.id).cloned().unwrap_or_default();
                let digest = select::select(&pool, s, &history, now, &self.rules);
                if digest.is_empty() {
                    tally.skipped += 1;
                    continue;
                }
                match self.renderer.render(&blocks, &digest, recipient(s)) {
                    Ok(_) => tally.sent += 1,
                    Err(e) => {
                        tracing::warn!(subscriber_id = s.id, error = %format!("{e:#}"), "rendering failed");
                        tally.failed += 1;
                    }
                }
            }
        }
        Ok(RunSummary::new(tally, 0))
    }

    /// Selects and renders one subscriber's digest, recording nothing.
    pub async fn preview(
        &self,
        s: &Subscriber,
        edition: Edition,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Preview> {
        let pool = Arc::new(self.pool(&edition, now).await?);
        let histories = self
            .store
            .histories(&[s.id], edition.frequency, now - edition.frequency.period() * 2)
            .await?;
        let history = histories.get(&s.id).cloned().unwrap_or_default();
        let (digest, verdicts) = select::explain(&pool, s, &history, now, &self.rules);
        let parts = pool.parts(now, &self.rules);
        let rendered = if digest.is_empty() {
            None
        } else {
            let blocks = self.renderer.edition(pool.clone(), edition);
            Some(self.renderer.render(&blocks, &digest, recipient(s))?)
        };
        let message_id = self.composer.message_id(&edition, s.id, &s.token);
        Ok(Preview {
            pool,
            digest,
            verdicts,
            parts,
            rules: self.rules,
            rendered,
            message_id,
        })
    }
}
