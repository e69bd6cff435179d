//! The time-zone picker's data: the IANA zones of chrono-tz grouped by
//! region (what a `<select>` shows in `<optgroup>`s), and the one inline
//! script the pages carry, which fills a hidden field with the browser's
//! zone, with the hash the Content-Security-Policy allows it by. Pure
//! values; the templates lay them out.

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// The regions a reader picks from, in the order shown. Zones outside
/// them (`US/…`, `Etc/…` and the other legacy links) are left out of the
/// list, though a form may still send them: the server accepts every IANA
/// name chrono-tz knows.
const REGIONS: [(&str, &str); 10] = [
    ("Africa", "zone-region-africa"),
    ("America", "zone-region-america"),
    ("Antarctica", "zone-region-antarctica"),
    ("Arctic", "zone-region-arctic"),
    ("Asia", "zone-region-asia"),
    ("Atlantic", "zone-region-atlantic"),
    ("Australia", "zone-region-australia"),
    ("Europe", "zone-region-europe"),
    ("Indian", "zone-region-indian"),
    ("Pacific", "zone-region-pacific"),
];

/// The catalog key of the group that holds UTC.
const OTHER: &str = "zone-region-other";

/// One `<optgroup>`: the IANA region, the catalog key that names it in
/// the page's language, and its zones.
#[derive(Debug, Clone, Serialize)]
pub struct Region {
    pub name: &'static str,
    pub key: &'static str,
    pub zones: Vec<Zone>,
}

/// One `<option>`: the IANA name and what the reader reads.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    pub value: &'static str,
    pub label: String,
}

/// Every region with its zones, sorted by label; then UTC on its own.
pub fn regions() -> &'static [Region] {
    static REGIONS_LIST: LazyLock<Vec<Region>> = LazyLock::new(build);
    &REGIONS_LIST
}

fn build() -> Vec<Region> {
    let mut out: Vec<Region> = REGIONS
        .iter()
        .map(|&(name, key)| Region {
            name,
            key,
            zones: Vec::new(),
        })
        .collect();
    for tz in chrono_tz::TZ_VARIANTS.iter() {
        let value = tz.name();
        let Some((region, place)) = value.split_once('/') else {
            continue;
        };
        if let Some(r) = out.iter_mut().find(|r| r.name == region) {
            r.zones.push(Zone {
                value,
                label: place.replace('_', " ").replace('/', " / "),
            });
        }
    }
    for r in &mut out {
        r.zones.sort_by(|a, b| a.label.cmp(&b.label));
    }
    out.push(Region {
        name: "Other",
        key: OTHER,
        zones: vec![Zone {
            value: "UTC",
            label: "UTC".into(),
        }],
    });
    out
}

/// The inline script of the signup forms: with JavaScript on, it puts the
/// browser's zone in the hidden `tz` field, hides the picker and says which
/// zone it found (the confirmation page shows the zone, to check or change
/// it), in the note's own `data-found` sentence, written in the page's
/// language with `{zone}` where the zone goes. Fixed text, so one hash
/// allows it everywhere; the form it sits in is the one it fills.
pub const TZ_SCRIPT: &str = "(function(){var f=document.currentScript.closest('form');var z=Intl.DateTimeFormat().resolvedOptions().timeZone;if(!f||!z)return;f.elements.tz.value=z;var p=f.querySelector('.herald-tz');if(p){p.hidden=true;}var n=f.querySelector('.herald-tz-note');if(n){n.textContent=(n.getAttribute('data-found')||'{zone}').replace('{zone}',z);n.hidden=false;}})();";

/// The CSP source that allows [`TZ_SCRIPT`] and no other script:
/// `'sha256-…'` of its exact text.
pub fn script_hash() -> &'static str {
    static HASH: LazyLock<String> = LazyLock::new(|| {
        format!(
            "'sha256-{}'",
            STANDARD.encode(Sha256::digest(TZ_SCRIPT.as_bytes()))
        )
    });
    &HASH
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_hold_the_familiar_zones_and_no_legacy_links() {
        let all: Vec<&str> = regions()
            .iter()
            .flat_map(|r| r.zones.iter().map(|z| z.value))
            .collect();
        for zone in ["Europe/Lisbon", "Asia/Amman", "America/Los_Angeles", "UTC"] {
            assert!(all.contains(&zone), "{zone} missing");
        }
        assert!(!all.contains(&"US/Pacific"), "a legacy link");
        let america = regions().iter().find(|r| r.name == "America").unwrap();
        let la = america
            .zones
            .iter()
            .find(|z| z.value == "America/Los_Angeles")
            .unwrap();
        assert_eq!(la.label, "Los Angeles");
        assert!(america.zones.windows(2).all(|w| w[0].label <= w[1].label));
    }

    #[test]
    fn the_hash_is_of_the_script() {
        // printf '%s' "$TZ_SCRIPT" | openssl sha256 -binary | base64
        assert_eq!(
            script_hash(),
            "'sha256-vLE9EFph5jlTT5hUhs/YTj2fvtpAt9kd3xkJkyxVkcI='"
        );
    }
}
