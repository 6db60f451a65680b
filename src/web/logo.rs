//! A commune's logo: what is accepted, checked by content (not by a file name or a declared
//! type): a PNG, JPEG or WebP image of at most 200 kB. SVG is refused, as it can carry scripts.

/// Biggest logo accepted: it is served with every page view.
pub const MAX_LOGO_BYTES: usize = 200 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogoError {
    #[error("more than {} kB", MAX_LOGO_BYTES / 1024)]
    TooLarge,
    #[error("not a PNG, JPEG or WebP image")]
    NotAnImage,
}

/// The content type of a logo, read from its first bytes.
pub fn logo_kind(bytes: &[u8]) -> Result<&'static str, LogoError> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(LogoError::TooLarge);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Ok("image/jpeg")
    } else if bytes.len() > 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("image/webp")
    } else {
        Err(LogoError::NotAnImage)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_known_by_their_content() {
        assert_eq!(logo_kind(b"\x89PNG\r\n\x1a\n...."), Ok("image/png"));
        assert_eq!(logo_kind(&[0xff, 0xd8, 0xff, 0xe0]), Ok("image/jpeg"));
        assert_eq!(logo_kind(b"RIFF....WEBPVP8 "), Ok("image/webp"));
        assert_eq!(
            logo_kind(b"<svg onload=alert(1)>"),
            Err(LogoError::NotAnImage)
        );
        assert_eq!(
            logo_kind(&vec![0xff; MAX_LOGO_BYTES + 1]),
            Err(LogoError::TooLarge)
        );
    }
}
