//! The catalog files: the copies of `locales/{tag}/*.ftl` compiled into the
//! binary, or a folder of the same layout (`herald locales check --dir`),
//! read as text and parsed by Fluent's parser. A syntax error names the
//! file and line. No other file is read.

use std::path::Path;

use anyhow::Context as _;
use fluent_bundle::FluentResource;

use crate::domain::Locale;

/// The catalog files of one locale, by name, in load order.
pub const FILES: [&str; 3] = ["digest.ftl", "pages.ftl", "mail.ftl"];

/// One catalog file's text and where it came from.
#[derive(Debug, Clone)]
pub struct Source {
    /// `en/digest.ftl`, or the file's path on disk.
    pub origin: String,
    pub text: String,
}

/// The files of one locale before parsing.
#[derive(Debug, Clone)]
pub struct LocaleSources {
    pub locale: Locale,
    pub files: Vec<Source>,
}

macro_rules! builtin_locale {
    ($tag:literal) => {
        LocaleSources {
            locale: Locale::parse($tag).expect("a built-in tag"),
            files: vec![
                Source {
                    origin: concat!("built-in ", $tag, "/digest.ftl").into(),
                    text: include_str!(concat!("../../locales/", $tag, "/digest.ftl")).into(),
                },
                Source {
                    origin: concat!("built-in ", $tag, "/pages.ftl").into(),
                    text: include_str!(concat!("../../locales/", $tag, "/pages.ftl")).into(),
                },
                Source {
                    origin: concat!("built-in ", $tag, "/mail.ftl").into(),
                    text: include_str!(concat!("../../locales/", $tag, "/mail.ftl")).into(),
                },
            ],
        }
    };
}

/// The catalogs compiled into the binary; English first (the reference
/// every other catalog is checked against).
pub fn builtin() -> Vec<LocaleSources> {
    vec![
        builtin_locale!("en"),
        builtin_locale!("ar"),
        builtin_locale!("fr"),
    ]
}

/// Reads a catalog folder: one subfolder per locale, named by its tag,
/// each with the files of [`FILES`] (a missing one is an error, so is a
/// folder whose name is not a tag). Sorted with `en` first, then by tag.
pub fn from_dir(dir: &Path) -> anyhow::Result<Vec<LocaleSources>> {
    let entries = std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    let mut locales = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        if !entry.file_type()?.is_dir() {
            continue;
        }
        let name = entry.file_name().to_string_lossy().into_owned();
        let locale = Locale::parse(&name)
            .map_err(|e| anyhow::anyhow!("{}: folder name {e}", entry.path().display()))?;
        let mut files = Vec::with_capacity(FILES.len());
        for file in FILES {
            let path = entry.path().join(file);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read catalog {}", path.display()))?;
            files.push(Source {
                origin: path.display().to_string(),
                text,
            });
        }
        locales.push(LocaleSources { locale, files });
    }
    if locales.is_empty() {
        anyhow::bail!(
            "{} has no locale folder (expected e.g. en/digest.ftl)",
            dir.display()
        );
    }
    locales.sort_by_key(|l| (l.locale.language() != "en", l.locale.tag()));
    Ok(locales)
}

/// Parses one file; a syntax error names the file, the line and the
/// offending text.
pub fn parse(source: &Source) -> anyhow::Result<FluentResource> {
    FluentResource::try_new(source.text.clone()).map_err(|(_, errors)| {
        let first = &errors[0];
        let line = source.text[..first.pos.start.min(source.text.len())]
            .matches('\n')
            .count()
            + 1;
        let snippet: String = source.text[first.pos.start.min(source.text.len())..]
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(60)
            .collect();
        anyhow::anyhow!(
            "{} line {line}: Fluent syntax error ({:?}) at {snippet:?}{}",
            source.origin,
            first.kind,
            if errors.len() > 1 {
                format!(" and {} more", errors.len() - 1)
            } else {
                String::new()
            }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_files_are_the_whole_locales_folder() {
        // A file or locale added to locales/ but not to `builtin` would be
        // silently left out of the binary.
        let on_disk = from_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("locales")).unwrap();
        let tags: Vec<String> = on_disk.iter().map(|l| l.locale.tag()).collect();
        let builtin: Vec<String> = builtin().iter().map(|l| l.locale.tag()).collect();
        let mut sorted = builtin.clone();
        sorted[1..].sort();
        assert_eq!(tags, sorted);
        for l in on_disk {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("locales")
                .join(l.locale.tag());
            let mut names: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            let mut expected: Vec<String> = FILES.iter().map(|f| f.to_string()).collect();
            expected.sort();
            assert_eq!(names, expected, "{}", dir.display());
        }
    }

    #[test]
    fn a_syntax_error_names_file_and_line() {
        let source = Source {
            origin: "xx/digest.ftl".into(),
            text: "ok = fine\n\nbroken = { $count ->\n  [one] one\n}\n".into(),
        };
        let err = parse(&source).unwrap_err().to_string();
        assert!(err.starts_with("xx/digest.ftl line "), "{err}");
    }
}
