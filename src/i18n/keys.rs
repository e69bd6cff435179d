//! The message keys Herald uses: what its code asks for (pages, the
//! confirmation mail) and what the built-in templates and any site's
//! templates may call with `t(key=...)`. This list is the contract between
//! the code, the templates and the catalogs: `herald locales check` reports
//! a key of this list, or of a template, that a catalog lacks, and a
//! catalog key that is in neither.

/// The digest: subject, preheader, heading, greetings, contents, section
/// titles, counts, footer (the built-in digest templates and `render`).
pub const DIGEST: &[&str] = &[
    "digest-subject",
    "digest-subject-headline",
    "digest-preheader",
    "digest-preheader-more",
    "digest-view-in-browser",
    "digest-view-in-browser-text",
    "digest-heading",
    "digest-heading-text",
    "digest-greeting",
    "digest-greeting-named",
    "digest-contents-top",
    "digest-contents-blogs",
    "digest-contents-both",
    "digest-count-stories",
    "digest-count-posts",
    "digest-section-top",
    "digest-section-blogs",
    "digest-footer-why",
    "digest-unsubscribe",
    "digest-unsubscribe-text",
    "digest-preferences",
    "digest-preferences-text",
    "digest-visit",
    "digest-address",
    "digest-frequency",
    "story-votes",
    "story-comments",
    "story-read-more",
    "story-byline",
];

/// The pages: signup, confirm, unsubscribe, preferences, archive, errors.
pub const PAGES: &[&str] = &[
    "page-title",
    "page-signup-title",
    "page-signup-message",
    "page-signup-email",
    "page-signup-name",
    "page-signup-honeypot",
    "page-signup-sections",
    "page-signup-frequency",
    "page-signup-submit",
    "page-signup-done-title",
    "page-signup-done-message",
    "page-signup-bad-address-title",
    "page-signup-bad-address-message",
    "page-confirm-title",
    "page-confirm-message",
    "page-confirm-hint",
    "page-confirm-submit",
    "page-confirm-already-title",
    "page-confirm-already-message",
    "page-confirm-expired-title",
    "page-confirm-expired-message",
    "page-confirmed-title",
    "page-confirmed-message",
    "page-unsubscribe-title",
    "page-unsubscribe-message",
    "page-unsubscribe-submit",
    "page-unsubscribe-weekly-offer",
    "page-unsubscribe-weekly-submit",
    "page-unsubscribe-pause-submit",
    "page-unsubscribe-invalid",
    "page-unsubscribed-title",
    "page-unsubscribed-message",
    "page-unsubscribed-already-message",
    "page-paused-title",
    "page-paused-message",
    "page-weekly-title",
    "page-weekly-message",
    "page-preferences-title",
    "page-preferences-message",
    "page-preferences-frequency",
    "page-preferences-daily",
    "page-preferences-weekly",
    "page-preferences-hour",
    "page-preferences-timezone",
    "page-preferences-timezone-hint",
    "page-preferences-topics",
    "page-preferences-language",
    "page-preferences-language-site",
    "page-preferences-submit",
    "page-preferences-invalid-title",
    "page-preferences-invalid-field",
    "page-preferences-saved-title",
    "page-preferences-saved-message",
    "page-archive-title",
    "page-archive-feed-title",
    "page-archive-empty",
    "page-archive-feed",
    "page-archive-subscribe",
    "page-archive-all",
    "page-archive-edition-note",
    "page-archive-edition-empty",
    "page-archive-stories",
    "page-archive-newer",
    "page-archive-older",
    "page-view-in-browser",
    "page-view-missing-title",
    "page-view-missing-message",
    "page-view-expired-title",
    "page-view-expired-message",
    "page-not-found-title",
    "page-not-found-message",
    "page-no-such-page-title",
    "page-no-such-page-message",
    "page-bad-request-title",
    "page-bad-form",
    "page-too-large-title",
    "page-too-large-message",
    "page-too-many-title",
    "page-too-many-message",
    "page-internal-title",
    "page-internal-message",
    "page-signup-tz-found",
    "page-confirm-unknown-message",
    "page-view-expired-archive-message",
    "page-archive-frequency",
    "page-archive-edition-title",
    "page-bad-form-type",
    "page-reason-timezone",
    "page-reason-hour",
    "page-reason-frequency",
    "page-reason-topics",
    "page-reason-language",
    "language-name",
    "zone-region-africa",
    "zone-region-america",
    "zone-region-antarctica",
    "zone-region-arctic",
    "zone-region-asia",
    "zone-region-atlantic",
    "zone-region-australia",
    "zone-region-europe",
    "zone-region-indian",
    "zone-region-pacific",
    "zone-region-other",
];

/// The confirmation mail a signup sends.
pub const MAIL: &[&str] = &[
    "confirm-mail-subject",
    "confirm-mail-intro",
    "confirm-mail-action-text",
    "confirm-mail-action-html",
    "confirm-mail-validity",
    "confirm-mail-ignore",
];

/// Every key of the three lists.
pub fn all() -> impl Iterator<Item = &'static str> {
    DIGEST.iter().chain(PAGES).chain(MAIL).copied()
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_key_is_listed_twice() {
        let mut keys: Vec<&str> = super::all().collect();
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}
