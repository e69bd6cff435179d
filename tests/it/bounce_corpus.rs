//! The bounce corpus: every message under tests/fixtures/bounces/<format>/
//! is read by `herald::bounce::parse` and its findings are compared with
//! tests/fixtures/bounces/expected.tsv (file, type, recipient, category,
//! status; one row per finding, in order). A failure lists every mismatch,
//! every fixture without rows and every row without a fixture. Each fixture
//! also has to name its original, by a VERP return path or a Herald
//! Message-ID, so the intake can map it, and to say where it came from in
//! an `X-Herald-Corpus` header.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use herald::bounce::{Report, parse};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounces")
}

/// One finding as the table writes it.
type Row = [String; 4];

fn rows(report: &Report) -> Vec<Row> {
    let dash = |s: Option<&str>| s.unwrap_or("-").to_owned();
    report
        .findings
        .iter()
        .map(|f| {
            [
                report.kind.as_str().to_owned(),
                dash(f.recipient.as_deref()),
                f.category.as_str().to_owned(),
                dash(f.status.as_deref()),
            ]
        })
        .collect()
}

fn expected() -> BTreeMap<String, Vec<Row>> {
    let text = std::fs::read_to_string(corpus().join("expected.tsv")).expect("reading expected.tsv");
    let mut table: BTreeMap<String, Vec<Row>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() || line.starts_with("file\t") {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(
            cols.len(),
            5,
            "expected.tsv line {}: 5 tab-separated columns, got {line:?}",
            n + 1
        );
        table
            .entry(cols[0].to_owned())
            .or_default()
            .push([cols[1], cols[2], cols[3], cols[4]].map(str::to_owned));
    }
    table
}

/// Every fixture, as `format/name.eml`.
fn fixtures() -> Vec<String> {
    let mut out = Vec::new();
    for format in std::fs::read_dir(corpus()).expect("reading the corpus") {
        let format = format.unwrap().path();
        if !format.is_dir() {
            continue;
        }
        for file in std::fs::read_dir(&format).unwrap() {
            let file = file.unwrap().path();
            if file.extension().is_some_and(|e| e == "eml") {
                let rel = file.strip_prefix(corpus()).unwrap();
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    out
}

fn show(rows: &[Row]) -> String {
    rows.iter()
        .map(|r| format!("    {}", r.join("\t")))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_fixture_reads_as_the_table_says() {
    let mut table = expected();
    let mut problems = Vec::new();
    let files = fixtures();
    assert!(files.len() >= 60, "the corpus has only {} messages", files.len());
    for file in &files {
        let raw = std::fs::read(corpus().join(file)).unwrap();
        let report = parse(&raw);
        let got = rows(&report);
        match table.remove(file) {
            None => problems.push(format!(
                "{file}: no row in expected.tsv; it reads as\n{}",
                show(&got)
            )),
            Some(want) if want != got => problems.push(format!(
                "{file}:\n  expected\n{}\n  got\n{}",
                show(&want),
                show(&got)
            )),
            Some(_) => {}
        }
        let text = String::from_utf8_lossy(&raw);
        if !text.starts_with("X-Herald-Corpus: ") {
            problems.push(format!("{file}: does not start with an X-Herald-Corpus header"));
        }
        let mapped = report.return_paths.iter().any(|a| a.starts_with("bounces+"))
            || report
                .message_ids
                .iter()
                .any(|id| id.ends_with("@news.example.com"));
        if report.kind != herald::domain::ReportType::None && !mapped {
            problems.push(format!(
                "{file}: names no VERP return path and no Herald Message-ID (return paths {:?}, message ids {:?})",
                report.return_paths, report.message_ids
            ));
        }
    }
    for file in table.keys() {
        problems.push(format!("{file}: in expected.tsv but no such fixture"));
    }
    assert!(
        problems.is_empty(),
        "{} problem(s) in the bounce corpus of {} messages:\n\n{}",
        problems.len(),
        files.len(),
        problems.join("\n\n")
    );
}

/// What the corpus holds per format, printed for the record (`cargo test
/// bounce_corpus -- --nocapture`).
#[test]
fn corpus_counts() {
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for file in fixtures() {
        *counts
            .entry(file.split('/').next().unwrap().to_owned())
            .or_default() += 1;
    }
    for (format, n) in &counts {
        println!("{format:<10} {n}");
    }
    for format in [
        "rfc3464",
        "postfix",
        "exim",
        "sendmail",
        "qmail",
        "exchange",
        "gmail",
        "yahoo",
        "ses",
        "arf",
        "autoreply",
        "none",
    ] {
        assert!(
            counts.get(format).copied().unwrap_or(0) >= 3,
            "format {format} has fewer than 3 samples"
        );
    }
}
