//! The header-like fields of a DSN's `message/delivery-status` part and
//! an ARF's `message/feedback-report` part (RFC 3464 section 2.1, RFC 5965
//! section 3): `Name: value` lines, folded lines unfolded, groups separated
//! by blank lines. Lenient: a line that is not a field is skipped.

/// One field, its value unfolded and trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Field {
    pub name: String,
    pub value: String,
}

/// The groups of fields in `text`, in order; empty groups are dropped.
pub(super) fn groups(text: &str) -> Vec<Vec<Field>> {
    let mut groups = Vec::new();
    let mut current: Vec<Field> = Vec::new();
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            if !current.is_empty() {
                groups.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = current.last_mut() {
                if !last.value.is_empty() {
                    last.value.push(' ');
                }
                last.value.push_str(line.trim());
            }
            continue;
        }
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if name.is_empty() || name.len() > 64 || !name.bytes().all(|b| b.is_ascii_graphic()) {
            continue;
        }
        current.push(Field {
            name: name.to_owned(),
            value: value.trim().to_owned(),
        });
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The first value of the field `name` (case-insensitive).
pub(super) fn get<'a>(group: &'a [Field], name: &str) -> Option<&'a str> {
    group
        .iter()
        .find(|f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
}

/// Every value of the field `name` (case-insensitive).
pub(super) fn all<'a>(group: &'a [Field], name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    group
        .iter()
        .filter(move |f| f.name.eq_ignore_ascii_case(name))
        .map(|f| f.value.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_and_folding() {
        let text = "Reporting-MTA: dns; mx.example\r\n\r\nFinal-Recipient: rfc822; a@x.example\r\nAction: failed\r\nDiagnostic-Code: smtp; 550 5.1.1\r\n    user unknown\r\nnot a field\r\n\r\n\r\nFinal-Recipient: rfc822; b@x.example\n";
        let g = groups(text);
        assert_eq!(g.len(), 3);
        assert_eq!(
            get(&g[1], "diagnostic-code"),
            Some("smtp; 550 5.1.1 user unknown")
        );
        assert_eq!(get(&g[2], "Final-Recipient"), Some("rfc822; b@x.example"));
        assert!(groups("  \n\n").is_empty());
    }
}
