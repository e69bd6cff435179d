//! Where the digest templates come from: the copies compiled into the binary
//! (the files in `templates/`), or a directory named by
//! `digest.templates_dir` so that a site can brand its digest. This is the
//! only module that reads template files; `render` receives their text.

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

/// The text of every template, and where it came from (for messages).
#[derive(Debug, Clone)]
pub struct TemplateSources {
    pub origin: String,
    pub files: Vec<(&'static str, String)>,
}

impl TemplateSources {
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
        let mut files = Vec::with_capacity(NAMES.len());
        for name in NAMES {
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

    /// The configured directory, or the built-in copies.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        match dir {
            Some(dir) => Self::from_dir(dir),
            None => Ok(Self::builtin()),
        }
    }
}
