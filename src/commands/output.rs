//! Printing helpers: aligned tables for people, JSON for scripts.

use std::io::Write;

use comfy_table::presets::NOTHING;
use comfy_table::{ContentArrangement, Table};

/// A borderless, aligned table with a header row.
pub fn table(header: &[&str]) -> Table {
    let mut t = Table::new();
    t.load_preset(NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| h.to_uppercase()));
    t
}

/// Prints a table without trailing blanks on each line.
pub fn print_table(out: &mut impl Write, t: &Table) -> std::io::Result<()> {
    for line in t.lines() {
        let line = line.trim_end();
        writeln!(out, "{}", line.strip_prefix(' ').unwrap_or(line))?;
    }
    Ok(())
}

/// Writes a JSON array element by element, so long lists stream.
pub struct JsonArray<W: Write> {
    out: W,
    first: bool,
}

impl<W: Write> JsonArray<W> {
    pub fn new(mut out: W) -> std::io::Result<Self> {
        out.write_all(b"[")?;
        Ok(JsonArray { out, first: true })
    }

    pub fn push(&mut self, item: &impl serde::Serialize) -> anyhow::Result<()> {
        self.out.write_all(if self.first { b"\n  " } else { b",\n  " })?;
        self.first = false;
        serde_json::to_writer(&mut self.out, item)?;
        Ok(())
    }

    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.write_all(if self.first { b"]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Writes `items` as a JSON array.
pub fn json_array<'a, T: serde::Serialize + 'a>(
    out: impl Write,
    items: impl IntoIterator<Item = &'a T>,
) -> anyhow::Result<()> {
    let mut arr = JsonArray::new(out)?;
    for item in items {
        arr.push(item)?;
    }
    arr.finish()?;
    Ok(())
}
