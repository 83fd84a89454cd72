//! The styles, scripts and icon the pages use, compiled into the binary.
//! Each is served at `/assets/<name>` and linked with a hash of its content
//! (`?v=…`), so browsers may cache it for good and still get a new one
//! after an upgrade.

use std::sync::OnceLock;

use sha2::{Digest, Sha256};

/// One embedded file.
pub struct Asset {
    pub name: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// The first 12 hex digits of the content's SHA-256.
    pub version: String,
}

const FILES: &[(&str, &str, &[u8])] = &[
    ("app.css", "text/css; charset=utf-8", include_bytes!("../assets/app.css")),
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("../assets/app.js")),
    ("live.js", "text/javascript; charset=utf-8", include_bytes!("../assets/live.js")),
    ("inbox.js", "text/javascript; charset=utf-8", include_bytes!("../assets/inbox.js")),
    ("conversation.js", "text/javascript; charset=utf-8", include_bytes!("../assets/conversation.js")),
    ("composer.js", "text/javascript; charset=utf-8", include_bytes!("../assets/composer.js")),
    ("forms.js", "text/javascript; charset=utf-8", include_bytes!("../assets/forms.js")),
    ("rules.js", "text/javascript; charset=utf-8", include_bytes!("../assets/rules.js")),
    ("format.js", "text/javascript; charset=utf-8", include_bytes!("../assets/format.js")),
    ("levels.js", "text/javascript; charset=utf-8", include_bytes!("../assets/levels.js")),
    ("icon.svg", "image/svg+xml", include_bytes!("../assets/icon.svg")),
];

fn all() -> &'static [Asset] {
    static ALL: OnceLock<Vec<Asset>> = OnceLock::new();
    ALL.get_or_init(|| {
        FILES
            .iter()
            .map(|(name, content_type, body)| {
                let digest = Sha256::digest(body);
                let version: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
                Asset { name, content_type, body, version }
            })
            .collect()
    })
}

/// The asset called `name`, if there is one.
pub fn get(name: &str) -> Option<&'static Asset> {
    all().iter().find(|a| a.name == name)
}

/// The URL to link an asset with.
pub fn url(name: &str) -> String {
    match get(name) {
        Some(asset) => format!("/assets/{}?v={}", asset.name, asset.version),
        None => format!("/assets/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_asset_is_found_and_versioned_by_its_content() {
        for (name, _, _) in FILES {
            let asset = get(name).unwrap_or_else(|| panic!("{name}"));
            assert_eq!(asset.version.len(), 12);
            assert!(url(name).ends_with(&asset.version));
        }
        assert!(get("../secret").is_none());
    }

    #[test]
    fn scripts_import_only_embedded_modules() {
        for (name, _, body) in FILES.iter().filter(|(n, _, _)| n.ends_with(".js")) {
            let text = std::str::from_utf8(body).unwrap_or_default();
            for line in text.lines().filter(|l| l.starts_with("import ")) {
                let target = line.rsplit("'./").next().and_then(|r| r.split('\'').next()).unwrap_or("");
                assert!(get(target).is_some(), "{name} imports {target}, which is not embedded");
            }
            assert!(!text.contains("innerHTML +="), "{name} appends HTML strings");
            assert!(!text.contains("eval("), "{name} evaluates strings");
        }
    }
}
