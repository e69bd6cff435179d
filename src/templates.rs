//! Where template text comes from. The digest templates are the copies
//! compiled into the binary (the files in `templates/`), or a directory named
//! by `digest.templates_dir` so that a site can brand its digest. The pages
//! the HTTP server answers with are the compiled-in copies of
//! `templates/pages/`, or that directory's `pages/` folder when it has one
//! (a site that brands only its digest keeps the built-in pages). This is the
//! only module that reads template files; `render` and `http` receive their
//! text and compile it.

use std::path::Path;

use anyhow::Context;

/// The templates a digest needs, by name.
pub const NAMES: [&str; 5] = [
    "digest.html",
    "digest.txt",
    "subject.txt",
    "story.html",
    "story.txt",
];

/// The page templates `http` renders, by name: the shared layout, the
/// pages of the subscriber flows, the archive and its feed, the signup box
/// and the pieces they include.
pub const PAGE_NAMES: [&str; 10] = [
    "layout.html",
    "page.html",
    "signup_form.html",
    "zone_picker.html",
    "hour_picker.html",
    "snippet.html",
    "archive.html",
    "archive_edition.html",
    "archive_story.html",
    "feed.xml",
];

/// The text of every template of a set, and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct TemplateSources {
    pub origin: String,
    pub files: Vec<(&'static str, String)>,
}

impl TemplateSources {
    /// The built-in digest templates.
    pub fn builtin() -> Self {
        TemplateSources {
            origin: "built-in templates".into(),
            files: vec![
                ("digest.html", include_str!("../templates/digest.html").into()),
                ("digest.txt", include_str!("../templates/digest.txt").into()),
                ("subject.txt", include_str!("../templates/subject.txt").into()),
                ("story.html", include_str!("../templates/story.html").into()),
                ("story.txt", include_str!("../templates/story.txt").into()),
            ],
        }
    }

    /// Reads all five templates from `dir`; a missing one is an error.
    pub fn from_dir(dir: &Path) -> anyhow::Result<Self> {
        Self::read(dir, &NAMES)
    }

    /// The configured directory, or the built-in copies.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => Ok(Self::builtin()),
        }
    }

    /// The built-in page templates.
    pub fn builtin_pages() -> Self {
        TemplateSources {
            origin: "built-in page templates".into(),
            files: vec![
                (
                    "layout.html",
                    include_str!("../templates/pages/layout.html").into(),
                ),
                ("page.html", include_str!("../templates/pages/page.html").into()),
                (
                    "signup_form.html",
                    include_str!("../templates/pages/signup_form.html").into(),
                ),
                (
                    "zone_picker.html",
                    include_str!("../templates/pages/zone_picker.html").into(),
                ),
                (
                    "hour_picker.html",
                    include_str!("../templates/pages/hour_picker.html").into(),
                ),
                (
                    "snippet.html",
                    include_str!("../templates/pages/snippet.html").into(),
                ),
                (
                    "archive.html",
                    include_str!("../templates/pages/archive.html").into(),
                ),
                (
                    "archive_edition.html",
                    include_str!("../templates/pages/archive_edition.html").into(),
                ),
                (
                    "archive_story.html",
                    include_str!("../templates/pages/archive_story.html").into(),
                ),
                ("feed.xml", include_str!("../templates/pages/feed.xml").into()),
            ],
        }
    }

    /// The page templates: those in `pages/` inside the configured
    /// directory when that folder exists, the built-in copy of each one it
    /// leaves out (so a site that replaced `page.html` before the layout,
    /// the archive and the signup box existed keeps working); else the
    /// built-in copies.
    pub fn load_pages(dir: Option<&Path>) -> anyhow::Result<Self> {
        let builtin = Self::builtin_pages();
        let pages = match dir.map(|d| d.join("pages")) {
            Some(pages) if pages.is_dir() => pages,
            _ => return Ok(builtin),
        };
        let mut files = Vec::with_capacity(builtin.files.len());
        for (name, text) in builtin.files {
            let path = pages.join(name);
            let text = match std::fs::read_to_string(&path) {
                Ok(own) => own,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => text,
                Err(e) => {
                    return Err(
                        anyhow::Error::new(e).context(format!("cannot read template {}", path.display()))
                    );
                }
            };
            files.push((name, text));
        }
        Ok(TemplateSources {
            origin: pages.display().to_string(),
            files,
        })
    }

    /// Reads the named templates from `dir`; a missing one is an error.
    fn read(dir: &Path, names: &[&'static str]) -> anyhow::Result<Self> {
        let mut files = Vec::with_capacity(names.len());
        for &name in names {
            let path = dir.join(name);
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read template {}", path.display()))?;
            files.push((name, text));
        }
        Ok(TemplateSources {
            origin: dir.display().to_string(),
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_come_from_a_pages_folder_only_when_there_is_one() {
        let dir = tempfile::tempdir().unwrap();
        let builtin = TemplateSources::builtin_pages();
        let loaded = TemplateSources::load_pages(Some(dir.path())).unwrap();
        assert_eq!(loaded.origin, builtin.origin, "no pages/ folder: built-in pages");
        assert_eq!(loaded.files, builtin.files);
        assert_eq!(TemplateSources::load_pages(None).unwrap().files, builtin.files);

        let pages = dir.path().join("pages");
        std::fs::create_dir(&pages).unwrap();
        std::fs::write(pages.join("page.html"), "<h1>{{ title }}</h1>").unwrap();
        let loaded = TemplateSources::load_pages(Some(dir.path())).unwrap();
        assert_eq!(loaded.files.len(), PAGE_NAMES.len());
        assert_eq!(
            loaded.files[1],
            ("page.html", "<h1>{{ title }}</h1>".to_owned()),
            "the site's own"
        );
        assert_eq!(
            loaded.files[0], builtin.files[0],
            "the built-in copy of what it leaves out"
        );
        std::fs::create_dir(pages.join("layout.html")).unwrap();
        let err = TemplateSources::load_pages(Some(dir.path())).unwrap_err();
        assert!(format!("{err:#}").contains("layout.html"), "{err:#}");
        std::fs::remove_dir(pages.join("layout.html")).unwrap();
        assert_eq!(loaded.origin, pages.display().to_string());
    }
}
