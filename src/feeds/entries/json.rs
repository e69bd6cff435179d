//! JSON Feed as written in the wild, rewritten into the strict shape
//! feed-rs reads. Versions 1.0 and 1.1 under any of the spellings seen
//! (`https://jsonfeed.org/version/1.1`, `http://jsonfeed.org/version/1`,
//! `"1.0"`, a trailing slash; none at all when there are items); strings
//! that arrive as numbers (ids, titles) become strings; `tags` and
//! `authors` may be one value or a list; an attachment without a
//! `mime_type` gets a generic one; a field of a type that makes no sense is
//! dropped. An item that is not an object is skipped with a reason; the
//! other items stay. Pure.

use serde_json::{Map, Value};

/// A JSON Feed ready for feed-rs, and why items were left out.
#[derive(Debug)]
pub struct Loosened {
    pub body: Vec<u8>,
    /// One reason per item left out.
    pub skipped: Vec<String>,
}

/// Rewrites a JSON Feed; the error says why the document is not one.
pub fn loosen(body: &str) -> Result<Loosened, String> {
    let doc: Value = serde_json::from_str(body).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(doc) = doc else {
        return Err("JSON, but not a JSON Feed (not an object)".into());
    };
    let items = match doc.get("items") {
        Some(Value::Array(items)) => items.as_slice(),
        None | Some(Value::Null) => &[],
        Some(_) => return Err("a JSON Feed whose \"items\" is not a list".into()),
    };
    match doc.get("version") {
        Some(v) if known_version(v) => {}
        None if doc.contains_key("items") => {}
        Some(v) => {
            return Err(format!(
                "unsupported JSON Feed version {v} (1.0 and 1.1 are read)"
            ));
        }
        None => return Err("JSON, but not a JSON Feed (no \"version\" and no \"items\")".into()),
    }
    let mut out = Map::new();
    out.insert("version".into(), "https://jsonfeed.org/version/1.1".into());
    out.insert("title".into(), text(doc.get("title")).unwrap_or_default().into());
    for key in [
        "home_page_url",
        "feed_url",
        "language",
        "description",
        "icon",
        "favicon",
    ] {
        copy_text(&doc, &mut out, key);
    }
    copy_authors(&doc, &mut out);
    let mut skipped = Vec::new();
    let mut kept = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        match item {
            Value::Object(item) => kept.push(Value::Object(loosen_item(item))),
            other => skipped.push(format!("item {}: not an object but {}", i + 1, kind(other))),
        }
    }
    out.insert("items".into(), Value::Array(kept));
    let body = serde_json::to_vec(&Value::Object(out))
        .map_err(|e| format!("cannot re-encode the JSON Feed: {e}"))?;
    Ok(Loosened { body, skipped })
}

/// `https://jsonfeed.org/version/1`, `…/1.1`, with http, `www.` or a
/// trailing slash, or just `1`, `1.0`, `1.1` (as text or a number).
fn known_version(v: &Value) -> bool {
    let Some(raw) = text(Some(v)) else {
        return false;
    };
    let lower = raw.trim().to_ascii_lowercase();
    let rest = lower
        .strip_prefix("https://")
        .or_else(|| lower.strip_prefix("http://"))
        .unwrap_or(&lower);
    let rest = rest.strip_prefix("www.").unwrap_or(rest).trim_end_matches('/');
    let number = rest.strip_prefix("jsonfeed.org/version/").unwrap_or(rest);
    matches!(number, "1" | "1.0" | "1.1")
}

fn loosen_item(item: &Map<String, Value>) -> Map<String, Value> {
    let mut out = Map::new();
    for key in [
        "id",
        "url",
        "external_url",
        "title",
        "content_html",
        "content_text",
        "summary",
        "date_published",
        "date_modified",
        "image",
        "banner_image",
        "language",
    ] {
        copy_text(item, &mut out, key);
    }
    copy_authors(item, &mut out);
    let tags: Vec<Value> = list(item.get("tags"))
        .filter_map(|t| text(Some(t)))
        .filter(|t| !t.trim().is_empty())
        .map(Value::String)
        .collect();
    if !tags.is_empty() {
        out.insert("tags".into(), Value::Array(tags));
    }
    let attachments: Vec<Value> = list(item.get("attachments")).filter_map(attachment).collect();
    if !attachments.is_empty() {
        out.insert("attachments".into(), Value::Array(attachments));
    }
    out
}

/// An attachment with a URL; a missing type is `application/octet-stream`
/// (so it is never taken for the item's page), a size that is not a
/// whole number is dropped.
fn attachment(v: &Value) -> Option<Value> {
    let a = v.as_object()?;
    let mut out = Map::new();
    out.insert("url".into(), text(a.get("url"))?.into());
    let mime = text(a.get("mime_type")).filter(|m| m.contains('/'));
    out.insert(
        "mime_type".into(),
        mime.unwrap_or_else(|| "application/octet-stream".into()).into(),
    );
    copy_text(a, &mut out, "title");
    let size = a.get("size_in_bytes").and_then(|s| match s {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    });
    if let Some(size) = size {
        out.insert("size_in_bytes".into(), size.into());
    }
    Some(Value::Object(out))
}

/// `author` and `authors` (1.1), each one object, a name alone, or a list.
fn copy_authors(from: &Map<String, Value>, to: &mut Map<String, Value>) {
    let authors: Vec<Value> = list(from.get("authors"))
        .chain(list(from.get("author")))
        .filter_map(|a| {
            let (name, url) = match a {
                Value::Object(o) => (text(o.get("name")), text(o.get("url"))),
                other => (text(Some(other)), None),
            };
            let mut out = Map::new();
            out.insert("name".into(), name.filter(|n| !n.trim().is_empty())?.into());
            if let Some(url) = url {
                out.insert("url".into(), url.into());
            }
            Some(Value::Object(out))
        })
        .collect();
    if !authors.is_empty() {
        to.insert("authors".into(), Value::Array(authors));
    }
}

/// A value as a list: a list's elements, or the value alone.
fn list(v: Option<&Value>) -> impl Iterator<Item = &Value> {
    let items: &[Value] = match v {
        Some(Value::Array(a)) => a,
        Some(Value::Null) | None => &[],
        Some(one) => std::slice::from_ref(one),
    };
    items.iter()
}

/// Text, or a number written as text.
fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn copy_text(from: &Map<String, Value>, to: &mut Map<String, Value>, key: &str) {
    if let Some(t) = text(from.get(key)) {
        to.insert(key.into(), t.into());
    }
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loose(body: &str) -> Value {
        serde_json::from_slice(&loosen(body).unwrap().body).unwrap()
    }

    #[test]
    fn versions_in_the_wild() {
        for v in [
            "\"https://jsonfeed.org/version/1.1\"",
            "\"http://jsonfeed.org/version/1\"",
            "\"https://jsonfeed.org/version/1/\"",
            "\"1.0\"",
            "1.1",
            "\"https://www.jsonfeed.org/version/1.0\"",
        ] {
            assert!(
                loosen(&format!("{{\"version\": {v}, \"items\": []}}")).is_ok(),
                "{v}"
            );
        }
        let e = loosen(r#"{"version": "https://jsonfeed.org/version/2", "items": []}"#).unwrap_err();
        assert_eq!(
            e,
            "unsupported JSON Feed version \"https://jsonfeed.org/version/2\" (1.0 and 1.1 are read)"
        );
        assert!(loosen(r#"{"items": []}"#).is_ok());
        assert!(loosen(r#"{"name": "not a feed"}"#).is_err());
        assert!(loosen("[1, 2]").is_err());
    }

    #[test]
    fn lenient_types_item_by_item() {
        let l = loosen(
            r#"{"version": "1", "title": 2024, "author": "Feed Author",
                "items": [
                  {"id": 7, "title": 12, "tags": "rust", "url": "https://x.example/7",
                   "authors": {"name": "A"}, "attachments": {"url": "https://x.example/7.mp3", "size_in_bytes": "10"}},
                  "oops",
                  {"id": "8", "tags": ["a", 3, {"x": 1}], "url": {"bad": true}}
                ]}"#,
        )
        .unwrap();
        assert_eq!(l.skipped, vec!["item 2: not an object but a string"]);
        let v: Value = serde_json::from_slice(&l.body).unwrap();
        assert_eq!(v["title"], "2024");
        assert_eq!(v["authors"][0]["name"], "Feed Author");
        assert_eq!(v["items"][0]["id"], "7");
        assert_eq!(v["items"][0]["title"], "12");
        assert_eq!(v["items"][0]["tags"], serde_json::json!(["rust"]));
        assert_eq!(v["items"][0]["authors"][0]["name"], "A");
        assert_eq!(
            v["items"][0]["attachments"][0],
            serde_json::json!({"url": "https://x.example/7.mp3", "mime_type": "application/octet-stream", "size_in_bytes": 10})
        );
        assert_eq!(v["items"][1]["tags"], serde_json::json!(["a", "3"]));
        assert!(v["items"][1].get("url").is_none());
        assert_eq!(loose(r#"{"version": "1.1"}"#)["items"], serde_json::json!([]));
    }
}
