//! Plain-text layout for the digest's text part and HTML source: the
//! `wrap`, `lines` and `underline` Tera filters, the line breaker behind
//! them ([`wrap`]: never breaks a URL, keeps no-break spaces and Unicode
//! isolates whole) and the clean-up of blank lines that template tags leave
//! behind. Pure string work: no templates, no IO.

use tera::{Kwargs, State};

/// `{{ text | wrap(width=72) }}`, for the text part: see [`wrap`].
pub(super) fn wrap_filter(s: &str, kwargs: Kwargs, _: &State) -> String {
    wrap(s, width_of(&kwargs, 72), Long::Split)
}

/// `{{ text | lines(width=100) }}`, for HTML source: breaks at spaces only,
/// so a line break renders as the space it replaces and text written
/// without spaces (Chinese, Japanese) is never split.
pub(super) fn lines_filter(s: &str, kwargs: Kwargs, _: &State) -> String {
    wrap(s, width_of(&kwargs, 100), Long::Keep)
}

/// `{{ title | underline }}`, for the text part: a rule of dashes as wide
/// as the title ("TOP STORIES" / "-----------"), in any script.
pub(super) fn underline_filter(s: &str, _: Kwargs, _: &State) -> String {
    "-".repeat(display_width(s).max(1))
}

fn width_of(kwargs: &Kwargs, default: i64) -> usize {
    kwargs
        .get::<i64>("width")
        .ok()
        .flatten()
        .unwrap_or(default)
        .clamp(20, 200) as usize
}

/// What [`wrap`] does with a word wider than the line that is not a URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Long {
    /// Cut it into pieces as wide as the line (plain text: a run of CJK
    /// text has no spaces to break at).
    Split,
    /// Keep it whole, on a line of its own.
    Keep,
}

/// Wraps `text` into lines at most `width` columns wide (display width, so
/// a CJK character counts two), breaking at whitespace and keeping the
/// line breaks it has. A URL is never broken: one that does not fit on the
/// current line starts the next, and one wider than the line stands on a
/// line of its own. Other words wider than the line are split or kept as
/// `long` says.
///
/// No-break spaces (U+00A0, U+202F, U+2007) are not places to break: "3
/// comments" and French "Bonjour :" stay together. A run isolated with
/// Unicode isolates (FSI … PDI: a name, a section, a count from the
/// catalogs) is kept on one line when it fits; when it must break, each
/// line closes the isolates it leaves open and the next reopens them, so
/// that every line of the text part is balanced on its own (a plain-text
/// reader treats each line as a paragraph, where an open isolate ends).
pub fn wrap(text: &str, width: usize, long: Long) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / width.max(1) + 1);
    for (n, paragraph) in text.lines().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        let mut line = Line {
            out: &mut out,
            col: 0,
            width,
            open: 0,
        };
        let mut words = paragraph.split(is_break).filter(|w| !w.is_empty()).peekable();
        while let Some(first) = words.next() {
            // An isolated run that fits on a line is one unit.
            let mut depth = isolate_depth(0, first);
            if depth > 0 {
                let mut run = first.to_owned();
                let mut rest = Vec::new();
                while depth > 0 {
                    let Some(&next) = words.peek() else { break };
                    run.push(' ');
                    run.push_str(next);
                    rest.push(next);
                    depth = isolate_depth(depth, next);
                    words.next();
                }
                if !rest.is_empty() && display_width(&run) <= width {
                    line.push(&run, display_width(&run));
                    continue;
                }
                line.word(first, long);
                for w in rest {
                    line.word(w, long);
                }
                continue;
            }
            line.word(first, long);
        }
    }
    out
}

/// Whitespace where a line may break: any but the no-break spaces.
fn is_break(c: char) -> bool {
    c.is_whitespace() && !matches!(c, '\u{a0}' | '\u{202f}' | '\u{2007}')
}

/// The isolates open after `word`, `depth` being open before it (LRI, RLI
/// and FSI open one; PDI closes one).
fn isolate_depth(mut depth: usize, word: &str) -> usize {
    for c in word.chars() {
        match c {
            '\u{2066}'..='\u{2068}' => depth += 1,
            '\u{2069}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// The line [`wrap`] is filling.
struct Line<'a> {
    out: &'a mut String,
    col: usize,
    width: usize,
    /// Isolates open at the end of the line so far.
    open: usize,
}

impl Line<'_> {
    /// Adds one word, split first when it is wider than the line, not a
    /// URL, and `long` says so.
    fn word(&mut self, word: &str, long: Long) {
        let w = display_width(word);
        if w <= self.width || long == Long::Keep || is_url(word) {
            self.push(word, w);
            return;
        }
        let mut piece = String::new();
        let mut piece_w = 0;
        for c in word.chars() {
            let cw = display_width(c.encode_utf8(&mut [0; 4]));
            if piece_w + cw > self.width && !piece.is_empty() {
                self.push(&piece, piece_w);
                piece.clear();
                piece_w = 0;
            }
            piece.push(c);
            piece_w += cw;
        }
        self.push(&piece, piece_w);
    }

    /// Adds a word `w` columns wide, on this line if it fits, else on the
    /// next (closing the open isolates before the break, reopening them
    /// after it). A word wider than the line fills it, so the next word
    /// starts a new one.
    fn push(&mut self, word: &str, w: usize) {
        if self.col > 0 {
            if self.col + 1 + w > self.width {
                for _ in 0..self.open {
                    self.out.push(crate::i18n::PDI);
                }
                self.out.push('\n');
                for _ in 0..self.open {
                    self.out.push(crate::i18n::FSI);
                }
                self.col = 0;
            } else {
                self.out.push(' ');
                self.col += 1;
            }
        }
        self.out.push_str(word);
        self.col += w;
        self.open = isolate_depth(self.open, word);
    }
}

fn display_width(s: &str) -> usize {
    textwrap::core::display_width(s)
}

/// A word a mail reader turns into a link: broken, it would no longer work.
fn is_url(word: &str) -> bool {
    word.contains("://") || word.starts_with("www.") || word.starts_with("mailto:")
}

/// Trims trailing blanks on every line and squeezes runs of blank lines
/// that template tags leave behind, so the text part reads cleanly.
pub(super) fn normalize_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank_run = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if blank_run > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_normalization_squeezes_blank_lines() {
        assert_eq!(normalize_text("\n\na  \n\n\n\nb\n"), "a\n\nb\n");
    }

    #[test]
    fn wrapping_never_breaks_a_url() {
        let long = format!(
            "https://news.example.com/world/2026/03/10/{}",
            "a-long-slug".repeat(8)
        );
        let text =
            format!("Read the council's full statement at {long} before the meeting on Tuesday evening.");
        let wrapped = wrap(&text, 72, Long::Split);
        assert_eq!(
            wrapped,
            format!("Read the council's full statement at\n{long}\nbefore the meeting on Tuesday evening.")
        );
        // A URL that fits stays on its line; one that does not moves whole
        // to the next (never split at a hyphen or a slash).
        assert_eq!(
            wrap("see https://x.io/a-b for more", 72, Long::Split),
            "see https://x.io/a-b for more"
        );
        let url = "https://news.example.com/world/2026/03/10/city-council-approves-bus";
        let wrapped = wrap(
            &format!("Council votes 31-9 to keep night routes: {url}"),
            72,
            Long::Split,
        );
        assert_eq!(
            wrapped,
            format!("Council votes 31-9 to keep night routes:\n{url}")
        );
        for line in wrap(&text.repeat(5), 72, Long::Split).lines() {
            assert!(line.chars().count() <= 72 || line == long, "{line:?}");
        }
    }

    #[test]
    fn wrapping_keeps_isolates_balanced_on_every_line_and_no_break_spaces_whole() {
        let (fsi, pdi) = (crate::i18n::FSI, crate::i18n::PDI);
        let balanced = |text: &str| {
            for line in text.lines() {
                assert_eq!(
                    line.matches(fsi).count(),
                    line.matches(pdi).count(),
                    "{line:?} in {text:?}"
                );
            }
        };
        // A short isolated run moves whole to the next line.
        let author = crate::i18n::isolate("نور الهدى العلي");
        let text = format!("{} · {author} · 3\u{a0}votes", "word ".repeat(12).trim());
        let wrapped = wrap(&text, 72, Long::Split);
        assert_eq!(
            wrapped,
            format!("{} ·\n{author} · 3\u{a0}votes", "word ".repeat(12).trim())
        );
        balanced(&wrapped);
        // One wider than the line breaks, closed and reopened at each break.
        let long = crate::i18n::isolate(&"كلمة ".repeat(30));
        let wrapped = wrap(&format!("By {long} today"), 40, Long::Split);
        assert!(wrapped.lines().count() >= 4, "{wrapped}");
        balanced(&wrapped);
        assert_eq!(
            wrapped.replace([fsi, pdi], "").split_whitespace().count(),
            32,
            "no word lost"
        );
        // No-break spaces are not breaks (French "Bonjour :", a count).
        let fr = format!("{} Se\u{a0}désabonner\u{a0}:", "mot ".repeat(15).trim());
        assert!(
            wrap(&fr, 72, Long::Split).ends_with("\nSe\u{a0}désabonner\u{a0}:"),
            "{:?}",
            wrap(&fr, 72, Long::Split)
        );
    }

    #[test]
    fn wrapping_splits_other_long_words_in_text_and_keeps_them_in_html() {
        let word = "x".repeat(100);
        assert_eq!(
            wrap(&word, 72, Long::Split),
            format!("{}\n{}", "x".repeat(72), "x".repeat(28))
        );
        assert_eq!(
            wrap(&format!("a {word} b"), 72, Long::Keep),
            format!("a\n{word}\nb")
        );
        // CJK characters are two columns wide: 36 to a 72-column line.
        let cjk = "漢".repeat(50);
        assert_eq!(
            wrap(&cjk, 72, Long::Split),
            format!("{}\n{}", "漢".repeat(36), "漢".repeat(14))
        );
        assert_eq!(
            wrap(&cjk, 72, Long::Keep),
            cjk,
            "no break where none renders as a space"
        );
        // Line breaks already there are kept; runs of spaces become one.
        assert_eq!(wrap("one  two\nthree", 72, Long::Split), "one two\nthree");
        assert_eq!(wrap("", 72, Long::Split), "");
    }
}
