-- The language a story is written in: a BCP 47 tag in canonical form
-- (`en`, `ar-JO`), checked by `domain::Locale` before it is written, from
-- an import's `lang` field or the feed's language. NULL: the site's
-- language (`site.locale`), whatever it is when a digest is selected, so
-- existing stories follow the site.
ALTER TABLE stories ADD COLUMN lang TEXT;
