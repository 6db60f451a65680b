//! The RFC 8291 Appendix A and RFC 8292 §2.4 vectors, and what must be refused.
use super::*;

// RFC 8291 Appendix A, as recomputed in web-push.md §4.
const PLAINTEXT: &str = "V2hlbiBJIGdyb3cgdXAsIEkgd2FudCB0byBiZSBhIHdhdGVybWVsb24";
const AS_PUBLIC: &str =
    "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const AS_PRIVATE: &str = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw";
const UA_PUBLIC: &str =
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4";
const UA_PRIVATE: &str = "q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94";
const SALT: &str = "DGv6ra1nlYgDCS1FRnbzlw";
const AUTH: &str = "BTBZMqHH6r4Tts7J_aSIgg";
const ECDH_SECRET: &str = "kyrL1jIIOHEzg3sM2ZWRHDRB62YACZhhSlknJ672kSs";
const PRK_KEY: &str = "Snr3JMxaHVDXHWJn5wdC52WjpCtd2EIEGBykDcZW32k";
const KEY_INFO: &str = "V2ViUHVzaDogaW5mbwAEJXGyvs3942BVGq8e0PTNNmwRzr5VX4m8t7GGpTM5FzFo7OLr4BhZe9MEebhuPI-OztV3ylkYfpJGmQ22ggCLDgT-M_SrDepxkU21WCP3O1SUj0EwbZIHMtu5pZpTKGSCIA5Zent7wmC6HCJ5mFgJkuk5cwAvMBKiiujwa7t45ewP";
const IKM: &str = "S4lYMb_L0FxCeq0WhDx813KgSYqU26kOyzWUdsXYyrg";
const PRK: &str = "09_eUZGrsvxChDCGRCdkLiDXrReGOEVeSCdCcPBSJSc";
const CEK_INFO_B64: &str = "Q29udGVudC1FbmNvZGluZzogYWVzMTI4Z2NtAA";
const CEK: &str = "oIhVW04MRdy2XN9CiKLxTg";
const NONCE_INFO_B64: &str = "Q29udGVudC1FbmNvZGluZzogbm9uY2UA";
const NONCE: &str = "4h_95klXJ5E_qnoN";
const HEADER: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8";
const CIPHERTEXT: &str =
    "8pfeW0KbunFT06SuDKoJH9Ql87S1QUrdirN6GcG7sFz1y1sqLgVi1VhjVkHsUoEsbI_0LpXMuGvnzQ";
const BODY: &str = "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN";

// RFC 8292 §2.4, checked in web-push.md §5.3: signed with a private key never published.
const RFC8292_HEADER: &str = "vapid t=eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiJ9.eyJhdWQiOiJodHRwczovL3B1c2guZXhhbXBsZS5uZXQiLCJleHAiOjE0NTM1MjM3NjgsInN1YiI6Im1haWx0bzpwdXNoQGV4YW1wbGUuY29tIn0.i3CYb7t4xfxCDquptFOepC9GAu_HLGkMlMuCGSK2rpiUfnK9ojFwDXb1JrErtmysazNjjvW2L9OkSSHzvoD1oA, k=BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";
const RFC8292_EXP: u64 = 1_453_523_768;

fn b64(s: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn arr<const N: usize>(s: &str) -> [u8; N] {
    b64(s).try_into().unwrap()
}

fn receiver() -> ([u8; 32], [u8; 65], [u8; 16]) {
    let secret = SecretKey::generate();
    let auth = <[u8; 16]>::generate();
    (
        secret.to_bytes().into(),
        uncompressed(&secret.public_key()),
        auth,
    )
}

#[test]
fn key_schedule_matches_rfc8291_appendix_a_step_by_step() {
    assert_eq!(CEK_INFO, b64(CEK_INFO_B64));
    assert_eq!(NONCE_INFO, b64(NONCE_INFO_B64));
    let as_private = SecretKey::from_slice(&b64(AS_PRIVATE)).unwrap();
    assert_eq!(uncompressed(&as_private.public_key()), arr::<65>(AS_PUBLIC));
    let ua_public = parse_p256dh(UA_PUBLIC).unwrap();
    let secret = ecdh(&as_private, &parse_point("ua", &ua_public).unwrap());
    assert_eq!(secret, arr::<32>(ECDH_SECRET));
    assert_eq!(key_info(&ua_public, &arr(AS_PUBLIC)), arr::<144>(KEY_INFO));

    let ks = key_schedule(secret, &arr(AUTH), &ua_public, &arr(AS_PUBLIC), &arr(SALT));
    assert_eq!(ks.prk_key, arr::<32>(PRK_KEY));
    assert_eq!(ks.ikm, arr::<32>(IKM));
    assert_eq!(ks.prk, arr::<32>(PRK));
    assert_eq!(ks.cek, arr::<16>(CEK));
    assert_eq!(ks.nonce, arr::<12>(NONCE));
}

#[test]
fn encrypt_reproduces_the_rfc8291_appendix_a_body() {
    let as_private = aws_lc_rs::agreement::PrivateKey::from_private_key(
        &aws_lc_rs::agreement::ECDH_P256,
        &b64(AS_PRIVATE),
    )
    .unwrap();
    let body = encrypt_with(
        &as_private,
        &arr(SALT),
        &arr(UA_PUBLIC),
        &arr(AUTH),
        &b64(PLAINTEXT),
        DEFAULT_RECORD_SIZE,
    )
    .unwrap();
    assert_eq!(body[..HEADER_LEN], b64(HEADER));
    assert_eq!(body[HEADER_LEN..], b64(CIPHERTEXT));
    assert_eq!(body, b64(BODY));
    assert_eq!(
        body.len(),
        144,
        "RFC 8291's Content-Length: 145 is off by one"
    );
}

#[test]
fn decrypt_opens_the_rfc8291_appendix_a_body() {
    let plaintext = decrypt(&arr(UA_PRIVATE), &arr(UA_PUBLIC), &arr(AUTH), &b64(BODY));
    assert_eq!(
        plaintext.unwrap(),
        b"When I grow up, I want to be a watermelon"
    );
}

#[test]
fn encrypt_then_decrypt_round_trips_with_fresh_key_and_salt() {
    let (private, public, auth) = receiver();
    let message = br#"{"alert":"crue","level":"rouge"}"#;
    let first = encrypt(&public, &auth, message, DEFAULT_RECORD_SIZE).unwrap();
    let second = encrypt(&public, &auth, message, DEFAULT_RECORD_SIZE).unwrap();
    assert_ne!(first[..16], second[..16], "salt is fresh");
    assert_ne!(
        first[21..HEADER_LEN],
        second[21..HEADER_LEN],
        "ephemeral key is fresh"
    );
    assert_eq!(first[16..21], [0, 0, 0x10, 0, 65]);
    for body in [first, second] {
        assert_eq!(decrypt(&private, &public, &auth, &body).unwrap(), message);
    }
    let empty = encrypt(&public, &auth, b"", 18).unwrap();
    assert_eq!(decrypt(&private, &public, &auth, &empty).unwrap(), b"");
}

#[test]
fn encrypt_refuses_what_does_not_fit_one_record_of_4096() {
    let (private, public, auth) = receiver();
    let largest = vec![b'x'; MAX_PLAINTEXT_LEN];
    let body = encrypt(&public, &auth, &largest, DEFAULT_RECORD_SIZE).unwrap();
    assert_eq!(body.len(), 4096);
    assert_eq!(decrypt(&private, &public, &auth, &body).unwrap(), largest);
    let too_long = encrypt(&public, &auth, &[b'x'; MAX_PLAINTEXT_LEN + 1], 8192);
    assert_eq!(
        too_long,
        Err(PushCryptoError::PlaintextTooLong { len: 3994 })
    );
    let small_rs = encrypt(&public, &auth, &[b'x'; 100], 117);
    assert_eq!(
        small_rs,
        Err(PushCryptoError::RecordSizeTooSmall {
            rs: 117,
            needed: 117
        })
    );
    assert!(encrypt(&public, &auth, &[b'x'; 100], 118).is_ok());
    let mut off_curve = public;
    off_curve[64] ^= 1;
    let err = encrypt(&off_curve, &auth, b"hi", DEFAULT_RECORD_SIZE).unwrap_err();
    assert_eq!(err, PushCryptoError::NotOnCurve { field: "p256dh" });
}

#[test]
fn decrypt_rejects_wrong_secrets_and_altered_bodies() {
    let (private, public, auth) = receiver();
    let body = encrypt(&public, &auth, b"evacuate", DEFAULT_RECORD_SIZE).unwrap();
    let failed = Err(PushCryptoError::DecryptionFailed);
    assert_eq!(decrypt(&private, &public, &[0; 16], &body), failed);
    let mut altered = body.clone();
    *altered.last_mut().unwrap() ^= 1;
    assert_eq!(decrypt(&private, &public, &auth, &altered), failed);
    let mut salted = body.clone();
    salted[0] ^= 1;
    assert_eq!(decrypt(&private, &public, &auth, &salted), failed);
    let (other_private, ..) = receiver();
    assert_eq!(
        decrypt(&other_private, &public, &auth, &body),
        Err(PushCryptoError::KeyMismatch)
    );
}

#[test]
fn decrypt_rejects_malformed_headers_and_extra_records() {
    let (private, public, auth) = receiver();
    let body = encrypt(&public, &auth, &[b'x'; 100], DEFAULT_RECORD_SIZE).unwrap();
    let open = |b: &[u8]| decrypt(&private, &public, &auth, b).unwrap_err();
    let malformed = |reason| PushCryptoError::MalformedBody(reason);
    assert_eq!(
        open(&body[..20]),
        malformed("shorter than the 21-octet header")
    );
    assert_eq!(open(&body[..50]), malformed("truncated in the keyid"));
    assert_eq!(
        open(&body[..HEADER_LEN + 16]),
        malformed("record shorter than delimiter and tag")
    );
    let mut b = body.clone();
    b[20] = 33;
    assert_eq!(open(&b), malformed("keyid is not a 65-octet public key"));
    b = body.clone();
    b[16..20].copy_from_slice(&17u32.to_be_bytes());
    assert_eq!(open(&b), malformed("record size below 18"));
    b[16..20].copy_from_slice(&100u32.to_be_bytes());
    assert_eq!(open(&b), malformed("more than one record"));
    b = body.clone();
    b[21] = 0x03;
    let keyid = "keyid (sender public key)";
    assert_eq!(open(&b), PushCryptoError::NotUncompressed { field: keyid });
}

#[test]
fn decrypt_requires_the_final_record_delimiter() {
    let (private, public, auth) = receiver();
    let as_private = SecretKey::generate();
    let as_public = uncompressed(&as_private.public_key());
    let salt = [7; 16];
    let ks = key_schedule(
        ecdh(&as_private, &parse_point("ua", &public).unwrap()),
        &auth,
        &public,
        &as_public,
        &salt,
    );
    let mut header = salt.to_vec();
    header.extend_from_slice(&4096u32.to_be_bytes());
    header.push(65);
    header.extend_from_slice(&as_public);
    let open = |padded: &[u8]| {
        let body = [header.as_slice(), &seal(&ks, padded)].concat();
        decrypt(&private, &public, &auth, &body)
    };
    assert_eq!(
        open(b"hi\x02\0\0\0").unwrap(),
        b"hi",
        "zero padding is stripped"
    );
    assert_eq!(
        open(b"hi\x01"),
        Err(PushCryptoError::BadPadding),
        "0x01 is not final"
    );
    assert_eq!(open(b"hi"), Err(PushCryptoError::BadPadding));
    assert_eq!(open(b"\0\0"), Err(PushCryptoError::BadPadding));
}

#[test]
fn parse_p256dh_takes_points_on_the_curve_only() {
    let key = arr::<65>(UA_PUBLIC);
    assert_eq!(parse_p256dh(UA_PUBLIC).unwrap(), key);
    let standard_padded = base64::engine::general_purpose::STANDARD.encode(key);
    assert_eq!(parse_p256dh(&standard_padded).unwrap(), key);
    let field = "p256dh";
    assert_eq!(
        parse_p256dh("not base64!"),
        Err(PushCryptoError::InvalidBase64 { field })
    );
    let short = PushCryptoError::InvalidLength {
        field,
        expected: 65,
        actual: 33,
    };
    use p256::elliptic_curve::sec1::ToSec1Point;
    let compressed = parse_point("ua", &key).unwrap().to_sec1_point(true);
    assert_eq!(
        parse_p256dh(&URL_SAFE_NO_PAD.encode(compressed)),
        Err(short)
    );
    let mut wrong_tag = key;
    wrong_tag[0] = 0x03;
    let err = parse_p256dh(&URL_SAFE_NO_PAD.encode(wrong_tag));
    assert_eq!(err, Err(PushCryptoError::NotUncompressed { field }));
    let mut off_curve = key;
    off_curve[64] ^= 1;
    let mut origin = [0; 65];
    origin[0] = 0x04;
    for bad in [off_curve, origin] {
        let err = parse_p256dh(&URL_SAFE_NO_PAD.encode(bad));
        assert_eq!(err, Err(PushCryptoError::NotOnCurve { field }), "{bad:?}");
    }
}

#[test]
fn parse_auth_takes_sixteen_octets() {
    assert_eq!(parse_auth(AUTH).unwrap(), arr::<16>(AUTH));
    assert_eq!(
        parse_auth("BTBZMqHH6r4Tts7J_aSIgg==").unwrap(),
        arr::<16>(AUTH)
    );
    let err = PushCryptoError::InvalidLength {
        field: "auth",
        expected: 16,
        actual: 15,
    };
    assert_eq!(parse_auth(&URL_SAFE_NO_PAD.encode([1; 15])), Err(err));
    assert_eq!(
        parse_auth("***"),
        Err(PushCryptoError::InvalidBase64 { field: "auth" })
    );
}

#[test]
fn vapid_key_reads_and_hides_its_private_half() {
    let key = VapidKey::from_base64url(AS_PRIVATE).unwrap();
    assert_eq!(key.public_key_base64url(), AS_PUBLIC);
    let debug = format!("{key:?}");
    assert!(
        debug.contains(AS_PUBLIC) && !debug.contains(AS_PRIVATE),
        "{debug}"
    );
    use secrecy::ExposeSecret;
    assert_eq!(key.private_key_base64url().expose_secret(), AS_PRIVATE);

    let field = "VAPID private key";
    let invalid = PushCryptoError::InvalidPrivateKey { field };
    for scalar in [[0; 32], [0xff; 32]] {
        let err = VapidKey::from_base64url(&URL_SAFE_NO_PAD.encode(scalar)).unwrap_err();
        assert_eq!(err, invalid, "zero, or above the group order");
    }
    let short = PushCryptoError::InvalidLength {
        field,
        expected: 32,
        actual: 31,
    };
    let truncated = URL_SAFE_NO_PAD.encode(&b64(AS_PRIVATE)[..31]);
    let err = VapidKey::from_base64url(&truncated).unwrap_err();
    assert_eq!(err, short);
    assert!(!err.to_string().contains(&truncated[..10]), "{err}");
    let err = VapidKey::from_base64url("yfWPiYE!").unwrap_err();
    assert_eq!(err, PushCryptoError::InvalidBase64 { field });
}

#[test]
fn rfc8292_example_verifies_until_it_expires() {
    let aud = "https://push.example.net";
    let now = RFC8292_EXP - 3600;
    let claims = verify_vapid(RFC8292_HEADER, aud, now).unwrap();
    assert_eq!(claims.aud, aud);
    assert_eq!(claims.exp, RFC8292_EXP);
    assert_eq!(claims.sub.as_deref(), Some("mailto:push@example.com"));
    let k =
        "BA1Hxzyi1RUM1b5wjxsn7nGxAszw2u61m164i3MrAIxHF6YK5h4SDYic-dRuU_RCPCfA5aq9ojSwk5Y2EmClBPs";
    assert_eq!(claims.public_key, arr::<65>(k));

    let (exp, past) = (RFC8292_EXP, RFC8292_EXP + 1);
    let expired = verify_vapid(RFC8292_HEADER, aud, past);
    assert_eq!(expired, Err(PushCryptoError::Expired { exp, now: past }));
    let early = exp - MAX_VAPID_LIFETIME_SECS - 1;
    let too_far = verify_vapid(RFC8292_HEADER, aud, early);
    assert_eq!(
        too_far,
        Err(PushCryptoError::ExpiryTooFar { exp, now: early })
    );
    let other = verify_vapid(RFC8292_HEADER, "https://push.example.net:8443", now);
    assert!(matches!(
        other,
        Err(PushCryptoError::AudienceMismatch { .. })
    ));
}

#[test]
fn vapid_header_is_an_es256_jwt_for_the_endpoint_origin() {
    let key = VapidKey::generate().unwrap();
    let endpoint = Url::parse("https://push.example.net:8443/p/JzLQ3raZ?x=1").unwrap();
    let (now, exp) = (1_700_000_000, 1_700_000_000 + 12 * 3600);
    let header = key
        .vapid_header(&endpoint, "mailto:ops@example.fr", exp, now)
        .unwrap();

    let (t, k) = header
        .strip_prefix("vapid t=")
        .unwrap()
        .split_once(", k=")
        .unwrap();
    assert_eq!(k, key.public_key_base64url());
    let parts: Vec<&str> = t.split('.').collect();
    assert_eq!(b64(parts[0]), JWT_HEADER.as_bytes());
    let claims: serde_json::Value = serde_json::from_slice(&b64(parts[1])).unwrap();
    let expected = serde_json::json!({
        "aud": "https://push.example.net:8443", "exp": exp, "sub": "mailto:ops@example.fr"
    });
    assert_eq!(claims, expected);
    assert_eq!(b64(parts[2]).len(), 64, "raw r ‖ s, not DER");

    let verified = verify_vapid(&header, "https://push.example.net:8443", now).unwrap();
    assert_eq!(verified.public_key.as_slice(), b64(k));
    let default_port = Url::parse("https://fcm.googleapis.com:443/fcm/send/abc").unwrap();
    let header = key.vapid_header(&default_port, "https://example.fr/contact", exp, now);
    assert!(verify_vapid(&header.unwrap(), "https://fcm.googleapis.com", now).is_ok());
}

#[test]
fn tampered_vapid_tokens_fail_verification() {
    let key = VapidKey::generate().unwrap();
    let endpoint = Url::parse("https://push.example.net/p/abc").unwrap();
    let (aud, now) = ("https://push.example.net", 1_700_000_000);
    let header = key
        .vapid_header(&endpoint, "mailto:ops@example.fr", now + 60, now)
        .unwrap();
    let (t, k) = header
        .strip_prefix("vapid t=")
        .unwrap()
        .split_once(", k=")
        .unwrap();
    let [h, c, s]: [&str; 3] = t.split('.').collect::<Vec<_>>().try_into().unwrap();

    let forged = URL_SAFE_NO_PAD.encode(format!(
        r#"{{"aud":"{aud}","exp":{},"sub":"mailto:ops@example.fr"}}"#,
        now + 3600
    ));
    let mut sig = b64(s);
    sig[10] ^= 1;
    let flipped = URL_SAFE_NO_PAD.encode(sig);
    let other_key = VapidKey::generate().unwrap().public_key_base64url();
    for bad in [
        format!("vapid t={h}.{forged}.{s}, k={k}"),
        format!("vapid t={h}.{c}.{flipped}, k={k}"),
        format!("vapid t={h}.{c}.{s}, k={other_key}"),
    ] {
        assert_eq!(
            verify_vapid(&bad, aud, now),
            Err(PushCryptoError::BadSignature),
            "{bad}"
        );
    }
    let der = format!("vapid t={h}.{c}.{}, k={k}", URL_SAFE_NO_PAD.encode([1; 70]));
    assert!(matches!(
        verify_vapid(&der, aud, now),
        Err(PushCryptoError::MalformedJwt(_))
    ));
    let none_alg = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"none"}"#);
    let none = format!("vapid t={none_alg}.{c}.{s}, k={k}");
    let err = verify_vapid(&none, aud, now);
    assert_eq!(err, Err(PushCryptoError::MalformedJwt("alg is not ES256")));
}

#[test]
fn verify_vapid_reads_the_header_leniently_but_completely() {
    let aud = "https://push.example.net";
    let now = RFC8292_EXP - 60;
    let rest = RFC8292_HEADER.strip_prefix("vapid ").unwrap();
    let (t, k) = rest.split_once(", ").unwrap();
    let variants = [
        format!("VAPID {k}, {t}"),
        format!("vapid  {t} , foo=bar, {k}"),
        format!("vapid t=\"{}\", {k}", &t[2..]),
    ];
    for header in &variants {
        assert!(verify_vapid(header, aud, now).is_ok(), "{header}");
    }
    let bad = |h: &str| verify_vapid(h, aud, now).unwrap_err();
    use PushCryptoError::MalformedAuthorization as M;
    assert_eq!(bad(&format!("WebPush {t}")), M("the scheme is not vapid"));
    assert_eq!(bad(&format!("vapid {t}")), M("no k parameter"));
    assert_eq!(bad(&format!("vapid {k}")), M("no t parameter"));
    assert_eq!(
        bad(&format!("vapid {t}, {t}, {k}")),
        M("a parameter appears twice")
    );
    assert_eq!(
        bad(&format!("vapid {t}, oops, {k}")),
        M("a parameter has no '='")
    );
    let truncated = format!("vapid {}, {k}", &t[..t.rfind('.').unwrap()]);
    assert!(matches!(bad(&truncated), PushCryptoError::MalformedJwt(_)));
}

#[test]
fn vapid_header_refuses_bad_expiry_subject_and_endpoint() {
    let key = VapidKey::generate().unwrap();
    let url = Url::parse("https://push.example.net/p/abc").unwrap();
    let now = 1_700_000_000;
    let sign = |url: &Url, sub: &str, exp: u64| key.vapid_header(url, sub, exp, now);
    let sub = "mailto:ops@example.fr";
    assert!(sign(&url, sub, now + MAX_VAPID_LIFETIME_SECS).is_ok());
    let exp = now + MAX_VAPID_LIFETIME_SECS + 1;
    assert_eq!(
        sign(&url, sub, exp),
        Err(PushCryptoError::ExpiryTooFar { exp, now })
    );
    assert_eq!(
        sign(&url, sub, now),
        Err(PushCryptoError::Expired { exp: now, now })
    );
    for bad in [
        "ops@example.fr",
        "http://example.fr",
        "mailto:",
        "tel:+33600000000",
        "",
    ] {
        assert_eq!(
            sign(&url, bad, now + 60),
            Err(PushCryptoError::InvalidSubject),
            "{bad}"
        );
    }
    assert!(sign(&url, "HTTPS://example.fr/contact", now + 60).is_ok());
    for bad in [
        "mailto:ops@example.fr",
        "data:text/plain,x",
        "file:///tmp/x",
    ] {
        let err = sign(&Url::parse(bad).unwrap(), sub, now + 60).unwrap_err();
        assert!(matches!(err, PushCryptoError::InvalidEndpoint(_)), "{bad}");
    }
    let local = Url::parse("http://127.0.0.1:8080/push/1").unwrap();
    let header = sign(&local, sub, now + 60).unwrap();
    assert!(verify_vapid(&header, "http://127.0.0.1:8080", now).is_ok());
}

#[test]
fn only_a_failing_rng_is_worth_retrying() {
    assert_eq!(
        PushCryptoError::Rng.retry_class(),
        RetryClass::Transient { retry_after: None }
    );
    assert_eq!(
        PushCryptoError::BadSignature.retry_class(),
        RetryClass::Permanent
    );
}
