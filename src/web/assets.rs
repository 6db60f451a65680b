//! The static files of the citizen pages, built into the binary: Pico CSS (MIT, vendored from
//! npm `@picocss/pico` 2.1.1, unmodified), our own style sheet and scripts, and the bell icon.
//!
//! They are served at `/assets/{name}` with a long cache life; pages link the style sheet and
//! the script with `?v=` and a digest of their content ([`asset_url`]), so a new release is
//! fetched at once. The service worker is apart ([`service_worker`]): it must be served from
//! `/c/{slug}/sw.js` so that its scope can be `/c/{slug}/`, and without a long cache life.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

const CSS: &str = "text/css; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";

/// Name, content and content type of each file served under `/assets/`.
const ASSETS: &[(&str, &[u8], &str)] = &[
    ("pico.min.css", include_bytes!("assets/pico.min.css"), CSS),
    (
        "PICO-LICENSE.md",
        include_bytes!("assets/PICO-LICENSE.md"),
        "text/markdown; charset=utf-8",
    ),
    ("site.css", include_bytes!("assets/site.css"), CSS),
    ("push.js", include_bytes!("assets/push.js"), JS),
    ("console.css", include_bytes!("assets/console.css"), CSS),
    ("console.js", include_bytes!("assets/console.js"), JS),
    (
        "icon.svg",
        include_bytes!("assets/icon.svg"),
        "image/svg+xml",
    ),
    (
        "icon-192.png",
        include_bytes!("assets/icon-192.png"),
        "image/png",
    ),
    (
        "icon-512.png",
        include_bytes!("assets/icon-512.png"),
        "image/png",
    ),
];

const SERVICE_WORKER: &str = include_str!("assets/sw.js");

/// The content type to serve [`service_worker`] with.
pub const SERVICE_WORKER_CONTENT_TYPE: &str = JS;

/// A file served under `/assets/{name}`, and its content type. `sw.js` is not one of them: see
/// [`service_worker`].
pub fn asset(name: &str) -> Option<(&'static [u8], &'static str)> {
    ASSETS
        .iter()
        .find(|(known, _, _)| *known == name)
        .map(|&(_, bytes, content_type)| (bytes, content_type))
}

/// The service worker, to serve at `/c/{slug}/sw.js` as [`SERVICE_WORKER_CONTENT_TYPE`] with
/// `Cache-Control: no-cache`, so that an update reaches browsers.
pub fn service_worker() -> &'static str {
    SERVICE_WORKER
}

/// Digests of the assets' content, computed once.
static VERSIONS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|&(name, bytes, _)| (name, hex::encode(&Sha256::digest(bytes)[..6])))
        .collect()
});

/// The path of an asset with `?v=` and a digest of its content, for the long cache life of
/// `/assets/`: the path changes when the file does. An unknown name gets its plain path.
pub fn asset_url(name: &str) -> String {
    match VERSIONS.iter().find(|(known, _)| *known == name) {
        Some((_, version)) => format!("/assets/{name}?v={version}"),
        None => format!("/assets/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Width and height from a PNG's IHDR chunk, after checking the signature.
    fn png_size(bytes: &[u8]) -> (u32, u32) {
        assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
        assert_eq!(&bytes[12..16], b"IHDR");
        let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
        (be(16), be(20))
    }

    #[test]
    fn icons_are_pngs_of_the_announced_sizes() {
        assert_eq!(png_size(asset("icon-192.png").unwrap().0), (192, 192));
        assert_eq!(png_size(asset("icon-512.png").unwrap().0), (512, 512));
        let (svg, content_type) = asset("icon.svg").unwrap();
        assert_eq!(content_type, "image/svg+xml");
        assert!(std::str::from_utf8(svg).unwrap().contains("<svg"));
    }

    #[test]
    fn every_asset_is_found_with_its_content_type() {
        assert_eq!(asset("pico.min.css").unwrap().1, CSS);
        assert_eq!(asset("site.css").unwrap().1, CSS);
        assert_eq!(asset("push.js").unwrap().1, JS);
        assert!(asset("PICO-LICENSE.md").is_some());
        assert!(asset("sw.js").is_none(), "served under /c/{{slug}}/ only");
        assert!(asset("../Cargo.toml").is_none());
        assert!(service_worker().contains("showNotification"));
    }

    #[test]
    fn asset_urls_change_with_content() {
        let url = asset_url("site.css");
        assert!(url.starts_with("/assets/site.css?v="), "{url}");
        assert_eq!(url.len(), "/assets/site.css?v=".len() + 12);
        assert_eq!(asset_url("nothing.css"), "/assets/nothing.css");
    }

    /// The vendored Pico must not load anything: no `@import`, and `url()` only for `data:`
    /// images. Its header comment names its home page, which is no request.
    #[test]
    fn pico_makes_no_request_of_its_own() {
        let pico = std::str::from_utf8(asset("pico.min.css").unwrap().0).unwrap();
        assert!(pico.starts_with("@charset \"UTF-8\";/*!\n * Pico CSS"));
        assert!(!pico.contains("@import"));
        for (at, _) in pico.match_indices("url(") {
            let rest = pico[at + 4..].trim_start_matches(['"', '\'']);
            assert!(rest.starts_with("data:"), "external url() at {at}");
        }
    }

    /// Our own files name no other host: no font, no CDN, no tracker.
    #[test]
    fn our_files_name_no_other_host() {
        let ours = ["site.css", "push.js"].map(|name| asset(name).unwrap().0);
        for text in ours
            .iter()
            .map(|b| std::str::from_utf8(b).unwrap())
            .chain([service_worker()])
        {
            assert!(!text.contains("http://") && !text.contains("https://"));
            assert!(!text.contains("@import") && !text.contains("url("));
        }
        // The SVG names only its XML namespace.
        let svg = std::str::from_utf8(asset("icon.svg").unwrap().0).unwrap();
        assert_eq!(svg.matches("http").count(), 1);
        assert!(svg.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    }
}
