//! Form bodies: `application/x-www-form-urlencoded` and
//! `multipart/form-data` (RFC 8058 lets a mail provider send the one-click
//! unsubscribe in either) become one list of fields with one lookup. Knows
//! nothing of pages or the store; a body it cannot read is a
//! [`FormError`], which names its catalog key for the 400 page (and says
//! in English, for logs, what was wrong).

use axum::body::Bytes;
use axum::http::{HeaderMap, header};

/// Why a body is not a form Herald can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FormError {
    #[error("expected a form (application/x-www-form-urlencoded or multipart/form-data)")]
    NotAForm,
    #[error("multipart body without a boundary")]
    NoBoundary,
    #[error("malformed multipart body")]
    Malformed,
}

impl FormError {
    /// The catalog key of the sentence the visitor reads.
    pub fn key(self) -> &'static str {
        match self {
            FormError::NotAForm => "page-bad-form-type",
            FormError::NoBoundary | FormError::Malformed => "page-bad-form",
        }
    }
}

/// The fields of a form body, in the order they came.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// Parses `body` as the form its `Content-Type` names.
    pub async fn parse(headers: &HeaderMap, body: Bytes) -> Result<Fields, FormError> {
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match mime.as_str() {
            "application/x-www-form-urlencoded" => Ok(Fields(
                url::form_urlencoded::parse(&body)
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect(),
            )),
            "multipart/form-data" => multipart(content_type, body).await,
            _ => Err(FormError::NotAForm),
        }
    }

    /// The value of the first field called `name`, empty when there is none.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of the fields called `name`, in order (a group of
    /// checkboxes sends one field per ticked box).
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether any field called `name` has this value. RFC 8058 asks for the
    /// body to contain `List-Unsubscribe=One-Click`, wherever it stands.
    pub fn contains(&self, name: &str, value: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && v == value)
    }
}

async fn multipart(content_type: &str, body: Bytes) -> Result<Fields, FormError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| FormError::NoBoundary)?;
    let stream = futures_util::stream::once(async move { Ok::<Bytes, std::io::Error>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let malformed = |_| FormError::Malformed;
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(malformed)? {
        let name = field.name().unwrap_or("").to_owned();
        let value = field.text().await.map_err(malformed)?;
        fields.push((name, value));
    }
    Ok(Fields(fields))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    async fn parse(content_type: &str, body: &'static str) -> Result<Fields, FormError> {
        let mut headers = HeaderMap::new();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(content_type).unwrap());
        Fields::parse(&headers, Bytes::from_static(body.as_bytes())).await
    }

    #[tokio::test]
    async fn urlencoded_fields_are_decoded() {
        let f = parse(
            "Application/X-WWW-Form-Urlencoded; charset=utf-8",
            "email=ana%40example.com&name=Ana+Lima&email=second",
        )
        .await
        .unwrap();
        assert_eq!(f.get("email"), "ana@example.com", "the first of two");
        assert_eq!(f.get("name"), "Ana Lima");
        assert_eq!(f.get("topics"), "", "absent is empty");
        assert_eq!(f.all("email").collect::<Vec<_>>(), ["ana@example.com", "second"]);
    }

    #[tokio::test]
    async fn multipart_fields_are_read() {
        let body = "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--XyZ--\r\n";
        let f = parse("multipart/form-data; boundary=XyZ", body).await.unwrap();
        assert!(f.contains("List-Unsubscribe", "One-Click"));
        assert!(!f.contains("List-Unsubscribe", "one-click"), "values are exact");
    }

    #[tokio::test]
    async fn one_click_counts_wherever_it_stands() {
        let f = parse(
            "application/x-www-form-urlencoded",
            "List-Unsubscribe=Other&List-Unsubscribe=One-Click",
        )
        .await
        .unwrap();
        assert!(f.contains("List-Unsubscribe", "One-Click"));
        assert_eq!(f.get("List-Unsubscribe"), "Other");
    }

    #[tokio::test]
    async fn what_is_not_a_form_is_refused_with_a_reason() {
        let err = parse("application/json", "{}").await.unwrap_err();
        assert_eq!(err, FormError::NotAForm);
        assert!(err.to_string().starts_with("expected a form"), "{err}");
        assert_eq!(err.key(), "page-bad-form-type");
        let err = parse("multipart/form-data", "").await.unwrap_err();
        assert_eq!(err, FormError::NoBoundary);
        let err = parse("multipart/form-data; boundary=XyZ", "--XyZ\r\nbroken")
            .await
            .unwrap_err();
        assert_eq!((err, err.key()), (FormError::Malformed, "page-bad-form"));
        assert!(
            Fields::parse(&HeaderMap::new(), Bytes::new()).await.is_err(),
            "no content type"
        );
    }
}
