//! `herald locales check`: the catalogs compared with the keys Herald uses
//! ([`super::keys`]), with the `t(key="...")` calls of the templates, and
//! with the reference catalog (English). Reports, per catalog, a key that
//! is used but missing, a key that nothing uses, and a variable a
//! translation reads that the reference does not pass (a typo there
//! would fail at send time), and plural variants selected on a bare
//! number instead of `PLURAL($n)` (Fluent's own rules get Arabic wrong).
//! Pure: it is handed the texts.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use fluent_bundle::FluentResource;
use fluent_syntax::ast;

use super::catalog::{self, LocaleSources};
use super::keys;

/// One thing wrong with the catalogs.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// `key` is used (by Herald, or by `used_by`) but `locale` lacks it.
    Missing {
        locale: String,
        key: String,
        used_by: String,
    },
    /// `locale` has `key`, which nothing uses.
    Unused { locale: String, key: String },
    /// `locale`'s `key` reads `$variable`, which the reference's does not.
    UnknownVariable {
        locale: String,
        key: String,
        variable: String,
    },
    /// `locale`'s `key` picks plural variants on `$variable` itself.
    BarePlural {
        locale: String,
        key: String,
        variable: String,
    },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Missing { locale, key, used_by } => {
                write!(f, "missing: {locale}: {key} (used by {used_by})")
            }
            Problem::Unused { locale, key } => write!(f, "unused: {locale}: {key}"),
            Problem::UnknownVariable {
                locale,
                key,
                variable,
            } => write!(
                f,
                "unknown variable: {locale}: {key} reads ${variable}, which the reference catalog's message does not"
            ),
            Problem::BarePlural {
                locale,
                key,
                variable,
            } => write!(
                f,
                "bare plural: {locale}: {key} selects plural forms on ${variable}; write PLURAL(${variable}) (CLDR's categories from ICU4X)"
            ),
        }
    }
}

/// What the check found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub locales: Vec<String>,
    /// Distinct keys used by Herald and the templates.
    pub keys_used: usize,
    pub problems: Vec<Problem>,
}

/// A template's text and the name to report it by.
pub struct Template<'a> {
    pub name: &'a str,
    pub text: &'a str,
}

/// Compares `catalogs` (the first is the reference) with the keys Herald
/// uses and those `templates` call. A file that does not parse is an
/// error, not a problem.
pub fn check(catalogs: &[LocaleSources], templates: &[Template<'_>]) -> anyhow::Result<Report> {
    // Key → who uses it (the first user, for the message).
    let mut used: BTreeMap<String, String> = BTreeMap::new();
    for key in keys::all() {
        used.insert(key.to_owned(), "Herald".to_owned());
    }
    for t in templates {
        for (key, line) in template_keys(t.text) {
            used.entry(key)
                .or_insert_with(|| format!("{} line {line}", t.name));
        }
    }
    let mut report = Report {
        keys_used: used.len(),
        ..Report::default()
    };
    let mut reference: Option<BTreeMap<String, BTreeSet<String>>> = None;
    for l in catalogs {
        let locale = l.locale.tag();
        let mut messages: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for source in &l.files {
            let resource = catalog::parse(source)?;
            for entry in resource.entries() {
                if let ast::Entry::Message(m) = entry {
                    let mut vars = BTreeSet::new();
                    let mut bare = BTreeSet::new();
                    let patterns = m.value.iter().chain(m.attributes.iter().map(|a| &a.value));
                    for p in patterns {
                        pattern_variables(p, &mut vars);
                        bare_plurals(p, &mut bare);
                    }
                    for variable in bare {
                        report.problems.push(Problem::BarePlural {
                            locale: locale.clone(),
                            key: m.id.name.to_owned(),
                            variable,
                        });
                    }
                    messages.insert(m.id.name.to_owned(), vars);
                }
            }
        }
        for (key, used_by) in &used {
            if !messages.contains_key(key) {
                report.problems.push(Problem::Missing {
                    locale: locale.clone(),
                    key: key.clone(),
                    used_by: used_by.clone(),
                });
            }
        }
        for (key, vars) in &messages {
            if !used.contains_key(key) {
                report.problems.push(Problem::Unused {
                    locale: locale.clone(),
                    key: key.clone(),
                });
            }
            if let Some(reference_vars) = reference.as_ref().and_then(|r| r.get(key)) {
                for v in vars.difference(reference_vars) {
                    report.problems.push(Problem::UnknownVariable {
                        locale: locale.clone(),
                        key: key.clone(),
                        variable: v.clone(),
                    });
                }
            }
        }
        report.locales.push(locale);
        if reference.is_none() {
            reference = Some(messages);
        }
    }
    Ok(report)
}

/// The message ids of a parsed file.
pub(super) fn message_ids(resource: &FluentResource) -> Vec<String> {
    resource
        .entries()
        .filter_map(|e| match e {
            ast::Entry::Message(m) => Some(m.id.name.to_owned()),
            _ => None,
        })
        .collect()
}

/// The literal keys of the `t(key="...")` calls in a template, with their
/// line. A key given as an expression cannot be checked and is skipped.
pub fn template_keys(text: &str) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(pos) = text[from..].find("t(") {
        let at = from + pos;
        from = at + 2;
        let starts_a_name = at == 0 || {
            let prev = bytes[at - 1];
            !(prev.is_ascii_alphanumeric() || prev == b'_' || prev == b'.')
        };
        if !starts_a_name {
            continue;
        }
        let rest = text[at + 2..].trim_start();
        let Some(rest) = rest.strip_prefix("key") else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(quote) = rest.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        if let Some(end) = rest[1..].find(quote) {
            let line = text[..at].matches('\n').count() + 1;
            found.push((rest[1..1 + end].to_owned(), line));
        }
    }
    found
}

/// The variables a select expression of `p` (at any depth) picks plural
/// categories on directly: `{ $n -> [one] ... }` rather than
/// `{ PLURAL($n) -> ... }`.
fn bare_plurals(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    const CATEGORIES: [&str; 5] = ["zero", "one", "two", "few", "many"];
    for e in &p.elements {
        let ast::PatternElement::Placeable { expression } = e else {
            continue;
        };
        if let ast::Expression::Select { selector, variants } = expression {
            let plural = variants
                .iter()
                .any(|v| matches!(&v.key, ast::VariantKey::Identifier { name } if CATEGORIES.contains(name)));
            if let ast::InlineExpression::VariableReference { id } = selector
                && plural
            {
                out.insert(id.name.to_owned());
            }
            for v in variants {
                bare_plurals(&v.value, out);
            }
        }
    }
}

fn pattern_variables(p: &ast::Pattern<&str>, out: &mut BTreeSet<String>) {
    for e in &p.elements {
        if let ast::PatternElement::Placeable { expression } = e {
            expression_variables(expression, out);
        }
    }
}

fn expression_variables(e: &ast::Expression<&str>, out: &mut BTreeSet<String>) {
    match e {
        ast::Expression::Select { selector, variants } => {
            inline_variables(selector, out);
            for v in variants {
                pattern_variables(&v.value, out);
            }
        }
        ast::Expression::Inline(i) => inline_variables(i, out),
    }
}

fn inline_variables(i: &ast::InlineExpression<&str>, out: &mut BTreeSet<String>) {
    match i {
        ast::InlineExpression::VariableReference { id } => {
            out.insert(id.name.to_owned());
        }
        ast::InlineExpression::FunctionReference { arguments, .. } => {
            for a in &arguments.positional {
                inline_variables(a, out);
            }
            for a in &arguments.named {
                inline_variables(&a.value, out);
            }
        }
        ast::InlineExpression::Placeable { expression } => expression_variables(expression, out),
        // A term's arguments are literals; message references pass none.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Locale;

    fn builtin_templates() -> Vec<(&'static str, String)> {
        let mut files = crate::templates::TemplateSources::builtin().files;
        files.extend(crate::templates::TemplateSources::builtin_pages().files);
        files
    }

    #[test]
    fn the_shipped_catalogs_pass() {
        let files = builtin_templates();
        let templates: Vec<Template<'_>> = files.iter().map(|(n, t)| Template { name: n, text: t }).collect();
        let report = check(&catalog::builtin(), &templates).unwrap();
        assert_eq!(report.locales, ["en", "ar", "fr"]);
        assert!(report.problems.is_empty(), "{:#?}", report.problems);
        assert_eq!(report.keys_used, keys::all().count());
    }

    #[test]
    fn a_broken_catalog_reports_the_key() {
        let mut catalogs = catalog::builtin();
        let fr = &mut catalogs[2].files[0];
        // Drop one message, add one nothing uses, and misspell a variable.
        fr.text = fr
            .text
            .lines()
            .filter(|l| !l.starts_with("story-read-more"))
            .collect::<Vec<_>>()
            .join("\n");
        fr.text
            .push_str("\nstory-obsolete = Ancien\nstory-byline = { $autor }\nstory-votes = { $count ->\n    [one] un vote\n   *[other] { $count } votes\n}\n");
        catalogs[2].files[0] = fr.clone();
        // The last definition of a key wins in Fluent's parser; the check
        // reads every entry, so the misspelt one is reported.
        let page = Template {
            name: "digest.html",
            text: "<p>\n{{ t(key=\"digest-section-top\") }} {{ t( key = 'digest-new-thing', count=1) }}\n{{ format_date(date=d) }}</p>",
        };
        let report = check(&catalogs, &[page]).unwrap();
        let lines: Vec<String> = report.problems.iter().map(|p| p.to_string()).collect();
        assert!(
            lines.contains(&"missing: fr: story-read-more (used by Herald)".to_owned()),
            "{lines:#?}"
        );
        assert!(
            lines.contains(&"unused: fr: story-obsolete".to_owned()),
            "{lines:#?}"
        );
        for tag in ["en", "ar", "fr"] {
            assert!(
                lines.contains(&format!(
                    "missing: {tag}: digest-new-thing (used by digest.html line 2)"
                )),
                "{lines:#?}"
            );
        }
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("unknown variable: fr: story-byline reads $autor")),
            "{lines:#?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("bare plural: fr: story-votes selects plural forms on $count")),
            "{lines:#?}"
        );
        assert!(
            !lines.iter().any(|l| l.contains("digest-subject")),
            "a select on $frequency is no plural: {lines:#?}"
        );
        assert_eq!(Locale::parse(&report.locales[2]).unwrap().tag(), "fr");
    }

    #[test]
    fn template_calls_are_found_with_their_line() {
        let text = "a\n{{ t(key=\"one\") }}{{ at(key=\"no\") }}{{ x.t(key='no') }}\n{{t(key='two', count=n)}} {{ t(key=k) }}";
        assert_eq!(
            template_keys(text),
            [("one".to_owned(), 2), ("two".to_owned(), 3)]
        );
    }
}
