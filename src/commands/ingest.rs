//! The command-line side of `subscribers import` and `stories import`:
//! opening the input (a file or stdin) with a progress bar, printing each
//! rejected record on stderr as it comes, and naming the input when parsing
//! stops. The batching itself (a blocking parser thread, a bounded channel,
//! transactions of distinct keys) is `import::run`, shared with the story
//! API.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};

use crate::import::{self, Batching, Outcome, Record, Rejection, Writer};
use crate::store::UpsertCounts;

pub use crate::import::Summary;

/// An opened input: a buffered reader, its name for messages, and a progress
/// bar that is hidden unless stderr is a terminal (drawn among the others,
/// so that log lines print above it: `crate::progress`).
pub struct Input {
    pub reader: Box<dyn BufRead + Send>,
    pub name: String,
    pub progress: ProgressBar,
}

pub fn open_input(path: &Path) -> anyhow::Result<Input> {
    if path.as_os_str() == "-" {
        let progress = crate::progress::bar(ProgressBar::new_spinner());
        progress.set_style(
            ProgressStyle::with_template("{spinner} {msg} {bytes} read ({bytes_per_sec})")
                .expect("valid template"),
        );
        let reader = BufReader::with_capacity(1 << 16, std::io::stdin());
        return Ok(Input {
            reader: Box::new(progress.wrap_read(reader)),
            name: "stdin".into(),
            progress,
        });
    }
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        anyhow::bail!("{} is a directory; expected a file", path.display());
    }
    let progress = crate::progress::bar(ProgressBar::new(len));
    progress.set_style(
        ProgressStyle::with_template("{bar:30} {bytes}/{total_bytes} {msg} ({bytes_per_sec}, eta {eta})")
            .expect("valid template"),
    );
    Ok(Input {
        reader: Box::new(BufReader::with_capacity(1 << 16, progress.wrap_read(file))),
        name: path.display().to_string(),
        progress,
    })
}

/// Streams records from `parse` (run on a blocking thread) into `flush`,
/// in batches whose `key`s are distinct. Rejected records are reported on
/// stderr as they come. When parsing fails midway, everything before the
/// failure is still written.
pub async fn run<T, P, K, F>(
    input_name: &str,
    progress: ProgressBar,
    parse: P,
    key: K,
    flush: F,
) -> anyhow::Result<Summary>
where
    T: Send + 'static,
    P: FnOnce(&mut dyn FnMut(Record<T>) -> bool) -> anyhow::Result<()> + Send + 'static,
    K: Fn(&T) -> String,
    F: AsyncFnMut(&[T]) -> anyhow::Result<UpsertCounts>,
{
    let mut writer = Cli {
        input_name,
        progress: &progress,
        key,
        flush,
    };
    let outcome = import::run(parse, Batching::CLI, &mut writer).await;
    progress.finish_and_clear();
    let Outcome { summary, parsed } = outcome?;
    parsed.with_context(|| {
        format!(
            "reading {input_name} (stopped after imported {}, updated {}, rejected {})",
            summary.imported, summary.updated, summary.rejected
        )
    })?;
    Ok(summary)
}

/// The command's [`Writer`]: the store calls come from the command, the
/// messages go to stderr around the progress bar.
struct Cli<'a, K, F> {
    input_name: &'a str,
    progress: &'a ProgressBar,
    key: K,
    flush: F,
}

impl<T, K, F> Writer<T> for Cli<'_, K, F>
where
    K: Fn(&T) -> String,
    F: AsyncFnMut(&[T]) -> anyhow::Result<UpsertCounts>,
{
    fn key(&self, item: &T) -> String {
        (self.key)(item)
    }

    async fn write(&mut self, batch: &[T]) -> anyhow::Result<UpsertCounts> {
        (self.flush)(batch).await
    }

    fn rejected(&mut self, rejection: Rejection) {
        let name = self.input_name;
        self.progress
            .suspend(|| eprintln!("rejected: {name}: {rejection}"));
    }

    fn written(&mut self, so_far: &Summary) {
        self.progress.set_message(format!(
            "{} rows",
            so_far.imported + so_far.updated + so_far.unchanged
        ));
    }
}
