//! The batching core of every story and subscriber import, shared by
//! `herald … import` and `POST /api/stories`: the parser runs on a blocking
//! thread and hands records over a bounded channel; this side groups the
//! valid ones into batches whose keys are distinct (the store's upsert needs
//! that), has the caller's [`Writer`] write each batch in one transaction,
//! and adds up what the writes did. Memory stays bounded by the channel and
//! one batch, whatever the input size. It does no database work and prints
//! nothing itself: the writer does both.

use std::collections::HashMap;
use std::future::Future;

use anyhow::Context;

use super::{Record, Rejection};
use crate::store::UpsertCounts;

/// Records per transaction. Random keys (addresses, tokens) dirty a new
/// index page for almost every row, and each commit writes every dirty page
/// to the WAL once: 20,000-row transactions write far fewer pages per row
/// than 1,000-row ones (measured: 2x faster on a 1,000,000-row import).
pub const BATCH: usize = 20_000;

/// Records the channel holds: enough that the parser keeps reading while a
/// batch is being written.
const CHANNEL: usize = 4 * BATCH;

/// What an import did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub rejected: u64,
}

impl Summary {
    /// Adds the outcome of writing a batch of `rows` records.
    fn add(&mut self, counts: UpsertCounts, rows: usize) {
        self.imported += counts.inserted;
        self.updated += counts.updated;
        self.unchanged += rows as u64 - counts.inserted - counts.updated;
    }
}

/// What happens when a key comes again while its first record is still in
/// the batch being collected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeats {
    /// Write the batch so far first, so that both records are written in
    /// input order and both are counted (the later one as updated or
    /// unchanged). The CLI does this: every row of a file counts.
    Write,
    /// The later record takes the earlier one's place in the batch and is
    /// counted once. The story API does this: one answer per story in the
    /// body.
    Replace,
}

/// How records are grouped into transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batching {
    /// Records per transaction, at most.
    pub rows: usize,
    pub repeats: Repeats,
}

impl Batching {
    /// `herald subscribers import` and `herald stories import`.
    pub const CLI: Batching = Batching {
        rows: BATCH,
        repeats: Repeats::Write,
    };
}

/// The caller's side of an import: what makes two records the same, how a
/// batch is written, and what to do with rejections and progress.
pub trait Writer<T> {
    /// The key the store upserts on; a batch never holds one twice.
    fn key(&self, item: &T) -> String;

    /// Writes one batch of records with distinct keys in one transaction.
    fn write(&mut self, batch: &[T]) -> impl Future<Output = anyhow::Result<UpsertCounts>>;

    /// A record that was not imported (already counted in the summary).
    fn rejected(&mut self, rejection: Rejection);

    /// Called after each batch is written, with the totals so far.
    fn written(&mut self, _so_far: &Summary) {}
}

/// How an import ended when nothing failed on the writing side.
#[derive(Debug)]
pub struct Outcome {
    pub summary: Summary,
    /// How parsing ended. A parse error ends the input there, but every
    /// valid record before it has been written and counted.
    pub parsed: anyhow::Result<()>,
}

/// Streams the records `parse` produces (on a blocking thread) into
/// `writer`, grouped as `batching` says. An error is a failed write (the
/// parser then stops at its next record) or a parser thread that panicked.
pub async fn run<T, P, W>(parse: P, batching: Batching, writer: &mut W) -> anyhow::Result<Outcome>
where
    T: Send + 'static,
    P: FnOnce(&mut dyn FnMut(Record<T>) -> bool) -> anyhow::Result<()> + Send + 'static,
    W: Writer<T>,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Record<T>>(CHANNEL);
    let parser = tokio::task::spawn_blocking(move || parse(&mut |record| tx.blocking_send(record).is_ok()));

    let mut summary = Summary::default();
    let mut batch = Batch::new(batching);
    while let Some(record) = rx.recv().await {
        let item = match record {
            Ok((_, item)) => item,
            Err(rejection) => {
                summary.rejected += 1;
                writer.rejected(rejection);
                continue;
            }
        };
        let key = writer.key(&item);
        let mut offer = batch.offer(key, item);
        if let Offer::WriteFirst(key, item) = offer {
            write(writer, &mut batch, &mut summary).await?;
            offer = batch.offer(key, item);
        }
        if let Offer::Full = offer {
            write(writer, &mut batch, &mut summary).await?;
        }
    }
    if !batch.items.is_empty() {
        write(writer, &mut batch, &mut summary).await?;
    }
    let parsed = parser.await.context("the parser thread panicked")?;
    Ok(Outcome { summary, parsed })
}

async fn write<T, W: Writer<T>>(
    writer: &mut W,
    batch: &mut Batch<T>,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    let counts = writer.write(&batch.items).await?;
    summary.add(counts, batch.items.len());
    batch.clear();
    writer.written(summary);
    Ok(())
}

/// The batch being collected: its records, and where each key sits.
struct Batch<T> {
    items: Vec<T>,
    index: HashMap<String, usize>,
    batching: Batching,
}

/// What [`Batch::offer`] did with a record.
#[derive(Debug, PartialEq, Eq)]
enum Offer<T> {
    /// Taken; the batch has room for more.
    Taken,
    /// Taken; the batch is full and must be written now.
    Full,
    /// Not taken: its key is in the batch already, which must be written
    /// before the record is offered again.
    WriteFirst(String, T),
}

impl<T> Batch<T> {
    fn new(batching: Batching) -> Self {
        // The API's batch is a whole request body and may be unbounded, so
        // reserve no more than a CLI batch up front.
        let capacity = batching.rows.min(BATCH);
        Batch {
            items: Vec::with_capacity(capacity),
            index: HashMap::with_capacity(capacity),
            batching,
        }
    }

    fn offer(&mut self, key: String, item: T) -> Offer<T> {
        if let Some(&at) = self.index.get(&key) {
            return match self.batching.repeats {
                Repeats::Write => Offer::WriteFirst(key, item),
                Repeats::Replace => {
                    self.items[at] = item;
                    Offer::Taken
                }
            };
        }
        self.index.insert(key, self.items.len());
        self.items.push(item);
        if self.items.len() >= self.batching.rows {
            Offer::Full
        } else {
            Offer::Taken
        }
    }

    fn clear(&mut self) {
        self.items.clear();
        self.index.clear();
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;
    use crate::import::{FieldError, Location};

    /// A store in memory: a key it has seen is an update, the same
    /// `(key, value)` again is unchanged.
    #[derive(Default)]
    struct Memory {
        rows: HashMap<String, u32>,
        batches: Vec<Vec<(String, u32)>>,
        rejected: Vec<String>,
        fail_on_batch: Option<usize>,
    }

    impl Writer<(String, u32)> for Memory {
        fn key(&self, item: &(String, u32)) -> String {
            item.0.clone()
        }

        async fn write(&mut self, batch: &[(String, u32)]) -> anyhow::Result<UpsertCounts> {
            if self.fail_on_batch == Some(self.batches.len()) {
                anyhow::bail!("disk full");
            }
            let keys: HashSet<&str> = batch.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(keys.len(), batch.len(), "keys in a batch are distinct");
            let mut counts = UpsertCounts::default();
            for (k, v) in batch {
                match self.rows.insert(k.clone(), *v) {
                    None => counts.inserted += 1,
                    Some(old) if old != *v => counts.updated += 1,
                    Some(_) => {}
                }
            }
            self.batches.push(batch.to_vec());
            Ok(counts)
        }

        fn rejected(&mut self, rejection: Rejection) {
            self.rejected.push(rejection.to_string());
        }
    }

    fn record(key: &str, value: u32) -> Record<(String, u32)> {
        Ok((Location::Line(1), (key.to_owned(), value)))
    }

    fn rejected(line: u64) -> Record<(String, u32)> {
        Err(Rejection {
            location: Location::Line(line),
            errors: vec![FieldError {
                field: "url",
                reason: "is missing".into(),
            }],
        })
    }

    async fn import(
        records: Vec<Record<(String, u32)>>,
        batching: Batching,
        writer: &mut Memory,
    ) -> anyhow::Result<Outcome> {
        let parse = move |sink: &mut dyn FnMut(Record<(String, u32)>) -> bool| {
            for r in records {
                if !sink(r) {
                    break;
                }
            }
            Ok(())
        };
        run(parse, batching, writer).await
    }

    #[tokio::test]
    async fn the_cli_writes_a_repeated_key_after_the_first_and_counts_both() {
        let mut w = Memory::default();
        let records = vec![
            record("a", 1),
            rejected(2),
            record("b", 1),
            record("a", 2),
            record("b", 1),
        ];
        let out = import(records, Batching::CLI, &mut w).await.unwrap();
        assert!(out.parsed.is_ok());
        let expected = Summary {
            imported: 2,
            updated: 1,
            unchanged: 1,
            rejected: 1,
        };
        assert_eq!(out.summary, expected);
        assert_eq!(w.batches.len(), 2, "{:?}", w.batches);
        assert_eq!(w.rows["a"], 2, "the later row wins");
        assert_eq!(w.rejected, ["line 2: field url: is missing"]);
    }

    #[tokio::test]
    async fn the_api_counts_a_repeated_key_once_with_the_last_value() {
        let mut w = Memory::default();
        let batching = Batching {
            rows: usize::MAX,
            repeats: Repeats::Replace,
        };
        let records = vec![record("a", 1), record("b", 1), record("a", 2)];
        let out = import(records, batching, &mut w).await.unwrap();
        assert_eq!(out.summary.imported, 2);
        assert_eq!(out.summary.updated + out.summary.unchanged, 0);
        assert_eq!(w.batches, [vec![("a".to_owned(), 2), ("b".to_owned(), 1)]]);
    }

    #[tokio::test]
    async fn a_full_batch_is_written_at_once() {
        let mut w = Memory::default();
        let batching = Batching {
            rows: 2,
            repeats: Repeats::Write,
        };
        let records = (0..5).map(|i| record(&i.to_string(), 0)).collect();
        let out = import(records, batching, &mut w).await.unwrap();
        assert_eq!(out.summary.imported, 5);
        let sizes: Vec<usize> = w.batches.iter().map(Vec::len).collect();
        assert_eq!(sizes, [2, 2, 1]);
    }

    #[tokio::test]
    async fn a_parse_error_keeps_what_came_before() {
        let mut w = Memory::default();
        let parse = |sink: &mut dyn FnMut(Record<(String, u32)>) -> bool| {
            sink(record("a", 1));
            anyhow::bail!("line 2: invalid JSON")
        };
        let out = run(parse, Batching::CLI, &mut w).await.unwrap();
        assert_eq!(out.summary.imported, 1);
        assert_eq!(out.parsed.unwrap_err().to_string(), "line 2: invalid JSON");
    }

    #[tokio::test]
    async fn a_failed_write_stops_the_import() {
        let mut w = Memory {
            fail_on_batch: Some(1),
            ..Memory::default()
        };
        let batching = Batching {
            rows: 1,
            repeats: Repeats::Write,
        };
        let records = vec![record("a", 1), record("b", 1), record("c", 1)];
        let err = import(records, batching, &mut w).await.unwrap_err();
        assert_eq!(err.to_string(), "disk full");
        assert_eq!(w.batches.len(), 1);
    }
}
