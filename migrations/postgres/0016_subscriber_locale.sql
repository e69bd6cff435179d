-- The language of a subscriber's digest and pages: a BCP 47 tag in
-- canonical form (`en`, `ar-JO`), checked by `domain::Locale` before it is
-- written. NULL: the site's language (`site.locale`), whatever it is when
-- the digest is rendered, so existing subscribers follow the site.
ALTER TABLE subscribers ADD COLUMN locale TEXT;
