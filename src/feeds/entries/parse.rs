//! Reading a feed body into feed-rs's model, and the one workaround that
//! needs: JSON Feed loosened where feed-rs is stricter than the format.
//! Pure: no IO, and no mapping into stories (that is the parent module).

use feed_rs::model::Feed;

/// Parses a feed body (RSS 0.9x, 1.0, 2.0, Atom or JSON Feed).
pub fn parse(body: &[u8], base: &url::Url) -> Result<Feed, String> {
    let parser = feed_rs::parser::Builder::new()
        .base_uri(Some(base.as_str()))
        .build();
    match parser.parse(body) {
        Ok(feed) => Ok(feed),
        // feed-rs reads JSON Feed with strict types: one item with a
        // numeric id (which JSON Feed 1.1 tells readers to accept) or an
        // odd attachment would sink the whole feed. Loosen and retry.
        Err(e) => match loosen_json_feed(body) {
            Some(loose) => parser.parse(loose.as_slice()),
            None => Err(e),
        }
        .map_err(|e| format!("not a valid RSS, Atom or JSON feed: {e}")),
    }
}

/// A JSON Feed with ids made strings and, in each item, non-string tags and
/// attachments without a string `url` and `mime_type` dropped; `None` when
/// the body is not a JSON object.
fn loosen_json_feed(body: &[u8]) -> Option<Vec<u8>> {
    use serde_json::Value;
    if !body.trim_ascii_start().starts_with(b"{") {
        return None;
    }
    let mut feed: Value = serde_json::from_slice(body).ok()?;
    for item in feed.get_mut("items")?.as_array_mut()? {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        if let Some(id) = item.get("id").filter(|v| v.is_number()).map(|v| v.to_string()) {
            item.insert("id".into(), Value::String(id));
        }
        if let Some(Value::Array(tags)) = item.get_mut("tags") {
            tags.retain(Value::is_string);
        }
        if let Some(Value::Array(attachments)) = item.get_mut("attachments") {
            attachments.retain(|a| a["url"].is_string() && a["mime_type"].is_string());
        }
    }
    serde_json::to_vec(&feed).ok()
}
