//! `--metrics-file`: the metrics of a cron or timer run in the
//! node_exporter textfile collector's format (Prometheus text 0.0.4), so a
//! site without the daemon still graphs its sends. Counters and histograms
//! add onto what the file held (the previous runs' totals), since each run
//! starts from zero and a series that falls back looks like a reset to
//! `rate()`; gauges are this run's. The file is replaced atomically (a
//! temporary file in the same folder, renamed over it), so the collector
//! never reads half of it.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::Context;

use super::Metrics;

/// Writes `metrics` to `path`, adding the counters `path` already holds.
pub fn write_textfile(path: &Path, metrics: &Metrics) -> anyhow::Result<()> {
    let previous = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read the metrics file {}", path.display())),
    };
    let text = to_textfile(&metrics.encode(), &previous);
    let name = path
        .file_name()
        .with_context(|| format!("--metrics-file {} names no file", path.display()))?;
    // Not *.prom, so the collector skips it while it is written.
    let tmp = path.with_file_name(format!(".{}.tmp", name.to_string_lossy()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// One metric family of the exposition.
struct Family {
    name: String,
    kind: String,
    help: Option<String>,
    samples: Vec<(String, String)>,
}

/// The OpenMetrics text `encode` gives, as Prometheus text 0.0.4 with the
/// cumulative series of `previous` (an earlier file) added in.
pub(crate) fn to_textfile(openmetrics: &str, previous: &str) -> String {
    // The earlier file's cumulative families, in their order.
    let mut before: Vec<Family> = parse(previous)
        .into_iter()
        .filter(|f| f.kind == "counter" || f.kind == "histogram")
        .collect();
    let mut out = String::new();
    for mut family in parse(openmetrics) {
        if family.kind == "counter" {
            // OpenMetrics names the family without the suffix its samples
            // carry; text 0.0.4 names both alike.
            let created = format!("{}_created", family.name);
            family.samples.retain(|(key, _)| !key.starts_with(&created));
            family.name.push_str("_total");
        }
        let old = before
            .iter()
            .position(|f| f.name == family.name)
            .map(|i| before.remove(i).samples)
            .unwrap_or_default();
        let old_values: HashMap<&str, f64> = old
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.parse::<f64>().ok()?)))
            .collect();
        let mut seen = HashSet::new();
        for (key, value) in &mut family.samples {
            seen.insert(key.clone());
            if let (Ok(now), Some(then)) = (value.parse::<f64>(), old_values.get(key.as_str())) {
                *value = (now + then).to_string();
            }
        }
        family
            .samples
            .extend(old.into_iter().filter(|(k, _)| !seen.contains(k)));
        write_family(&mut out, &family);
    }
    // Families this run never touched (no series yet) keep their totals.
    for family in &before {
        write_family(&mut out, family);
    }
    out
}

fn write_family(out: &mut String, family: &Family) {
    if let Some(help) = &family.help {
        out.push_str(&format!("# HELP {} {help}\n", family.name));
    }
    out.push_str(&format!("# TYPE {} {}\n", family.name, family.kind));
    for (key, value) in &family.samples {
        out.push_str(&format!("{key} {value}\n"));
    }
}

/// Families in order, from either format (`# EOF` and `# UNIT` dropped).
fn parse(text: &str) -> Vec<Family> {
    let mut families: Vec<Family> = Vec::new();
    let mut help: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            if let Some((name, text)) = rest.split_once(' ') {
                help = Some((name.to_owned(), text.to_owned()));
            }
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let Some((name, kind)) = rest.split_once(' ') else {
                continue;
            };
            families.push(Family {
                name: name.to_owned(),
                kind: kind.to_owned(),
                help: help.take().filter(|(n, _)| n == name).map(|(_, h)| h),
                samples: Vec::new(),
            });
        } else if line.starts_with('#') || line.trim().is_empty() {
            continue;
        } else if let (Some(family), Some((key, value))) = (families.last_mut(), line.rsplit_once(' ')) {
            family.samples.push((key.to_owned(), value.to_owned()));
        }
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Category, Source};

    #[test]
    fn counters_add_up_across_runs_and_gauges_are_replaced() {
        let first = Metrics::new();
        first.bounce(Source::Smtp, Category::Hard);
        first.set_queue_depth(5);
        first.observe_send(std::time::Duration::from_millis(3));
        let one = to_textfile(&first.encode(), "");
        assert!(!one.contains("# EOF") && !one.contains("# UNIT"), "{one}");
        assert!(one.contains("# TYPE herald_bounces_total counter\n"), "{one}");
        assert!(one.contains("# HELP herald_bounces_total Bounces"), "{one}");
        assert!(
            one.contains("herald_bounces_total{source=\"smtp\",category=\"hard\"} 1\n"),
            "{one}"
        );
        assert!(one.contains("herald_queue_depth 5\n"), "{one}");
        assert!(
            one.contains("herald_smtp_send_duration_seconds_count 1\n"),
            "{one}"
        );

        let second = Metrics::new();
        second.bounce(Source::Ses, Category::Complaint);
        second.bounce(Source::Smtp, Category::Hard);
        second.set_queue_depth(2);
        second.observe_send(std::time::Duration::from_millis(3));
        let two = to_textfile(&second.encode(), &one);
        for line in [
            "herald_bounces_total{source=\"smtp\",category=\"hard\"} 2\n",
            "herald_bounces_total{source=\"ses\",category=\"complaint\"} 1\n",
            "herald_queue_depth 2\n",
            "herald_smtp_send_duration_seconds_count 2\n",
            "herald_smtp_send_duration_seconds_bucket{le=\"+Inf\"} 2\n",
        ] {
            assert!(two.contains(line), "{line} missing from:\n{two}");
        }
        // A series of an earlier run that this run did not touch stays.
        let third = to_textfile(&Metrics::new().encode(), &two);
        assert!(
            third.contains("herald_bounces_total{source=\"ses\",category=\"complaint\"} 1\n"),
            "{third}"
        );
        assert_eq!(third.matches("# TYPE herald_bounces_total").count(), 1, "{third}");
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("herald.prom");
        let m = Metrics::new();
        m.bounce(Source::Mail, Category::Soft);
        write_textfile(&path, &m).unwrap();
        write_textfile(&path, &m).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains("herald_bounces_total{source=\"mail\",category=\"soft\"} 2\n"),
            "{text}"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("herald.prom")]);
    }
}
