//! Configuration loading, layering and validation, as an operator meets them.

use super::*;

fn load(vars: &[(&str, &str)], file: Option<&Path>) -> Result<Config, ConfigError> {
    Config::load_with(file, |name| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    })
}

#[test]
fn the_documented_example_is_valid() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/tocsin.example.toml");
    let config = load(&[], Some(&example)).expect("config/tocsin.example.toml is valid");
    assert_eq!(config.http_addr.to_string(), "127.0.0.1:8080");
    let names: Vec<&str> = config.accounts.iter().map(|a| a.section.as_str()).collect();
    assert_eq!(
        names,
        ["sms.accounts.bras", "sms.smsmode", "email.smtp"],
        "the example enables no simulator"
    );
}

/// A simulator reaches no one: no commune can be routed to it unless the configuration
/// enables it, and then `config check` warns.
#[test]
fn simulators_are_routable_only_when_enabled() {
    let err = load(&[("TOCSIN_SMS_PROVIDER", "simulator")], None)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("routing.sms"), "{err}");
    assert!(err.contains("enabled = true"), "{err}");
    let config = load(
        &[
            ("TOCSIN_SMS_PROVIDER", "simulator"),
            ("TOCSIN_SMS_SIMULATOR_ENABLED", "true"),
            ("TOCSIN_SMTP_URL", "smtp://relay:25"),
            ("TOCSIN_EMAIL_FROM", "Mairie <a@b.fr>"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(config.routing.sms, "simulator");
    assert!(
        !config
            .accounts
            .iter()
            .any(|a| a.section == "email.simulator")
    );
    let named = load_toml(
        "[routing]\nsms = \"rehearsal\"\nemail = \"rehearsal\"\n\
         [sms.accounts.rehearsal]\nprovider = \"simulator\"\n\
         [email.accounts.rehearsal]\nprovider = \"simulator\"\nenabled = true\n",
    )
    .unwrap_err()
    .to_string();
    assert!(named.starts_with("routing.sms"), "{named}");
    let bad = load(&[("TOCSIN_SMS_SIMULATOR_ENABLED", "yes")], None)
        .unwrap_err()
        .to_string();
    assert!(bad.contains("must be true or false"), "{bad}");
}

#[test]
fn environment_variables_override_the_file_and_defaults() {
    let config = load(
        &[
            ("TOCSIN_HTTP_ADDR", "0.0.0.0:9000"),
            ("TOCSIN_SMS_PROVIDER", "simulator"),
            ("TOCSIN_SMS_SIMULATOR_ENABLED", "true"),
            ("TOCSIN_SMTP_URL", "smtp://relay:25"),
            ("TOCSIN_EMAIL_FROM", "Mairie <a@b.fr>"),
        ],
        None,
    )
    .unwrap();
    assert_eq!(config.http_addr.to_string(), "0.0.0.0:9000");
    assert_eq!(config.routing.sms, "simulator");
    assert!(config.accounts.iter().any(|a| a.section == "email.smtp"));
}

#[test]
fn routing_to_an_unconfigured_provider_names_the_key_and_the_fix() {
    let err = load(
        &[
            ("TOCSIN_EMAIL_PROVIDER", "simulator"),
            ("TOCSIN_EMAIL_SIMULATOR_ENABLED", "true"),
        ],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("routing.sms"), "{err}");
    assert!(err.contains("TOCSIN_SMSMODE_API_KEY"), "{err}");
}

#[test]
fn a_provider_error_is_reported_under_its_section() {
    let err = load(
        &[
            ("TOCSIN_SMSMODE_API_KEY", "k"),
            ("TOCSIN_SMSMODE_URL", "not a url"),
            ("TOCSIN_EMAIL_PROVIDER", "simulator"),
            ("TOCSIN_EMAIL_SIMULATOR_ENABLED", "true"),
        ],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("sms.smsmode.base_url"), "{err}");
}

#[test]
fn a_short_api_key_secret_is_refused() {
    let vars = [
        ("TOCSIN_SMS_PROVIDER", "simulator"),
        ("TOCSIN_EMAIL_PROVIDER", "simulator"),
        ("TOCSIN_SMS_SIMULATOR_ENABLED", "true"),
        ("TOCSIN_EMAIL_SIMULATOR_ENABLED", "true"),
    ];
    let short = [&vars[..], &[("TOCSIN_API_KEY_SECRET", "x")]].concat();
    let err = load(&short, None).unwrap_err().to_string();
    assert!(err.starts_with("api_key_secret: is 1 bytes long"), "{err}");
    let fine = "k".repeat(MIN_API_KEY_SECRET_BYTES);
    let long = [&vars[..], &[("TOCSIN_API_KEY_SECRET", fine.as_str())]].concat();
    assert!(load(&long, None).is_ok());
}

#[test]
fn secrets_are_read_from_files() {
    let dir = tempfile::tempdir().unwrap();
    let secret = dir.path().join("secret");
    std::fs::write(&secret, format!("{}\n", "s".repeat(40))).unwrap();
    let key = dir.path().join("smsmode");
    std::fs::write(&key, "file-key").unwrap();
    let smtp = dir.path().join("smtp");
    std::fs::write(&smtp, "smtp://relay.example.fr:25\r\n").unwrap();
    let (secret, key, smtp) = (
        secret.display().to_string(),
        key.display().to_string(),
        smtp.display().to_string(),
    );
    let config = load(
        &[
            ("TOCSIN_API_KEY_SECRET_FILE", secret.as_str()),
            ("TOCSIN_SMSMODE_API_KEY_FILE", key.as_str()),
            ("TOCSIN_SMTP_URL_FILE", smtp.as_str()),
            ("TOCSIN_EMAIL_FROM", "Mairie <a@b.fr>"),
        ],
        None,
    )
    .unwrap();
    let exposed =
        secrecy::ExposeSecret::expose_secret(config.api_key_secret.as_ref().unwrap()).to_string();
    assert_eq!(exposed, "s".repeat(40));
    assert_eq!(config.accounts.len(), 2, "{:?}", config.accounts);

    let both = load(
        &[
            ("TOCSIN_API_KEY_SECRET", "direct"),
            ("TOCSIN_API_KEY_SECRET_FILE", secret.as_str()),
        ],
        None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        both.starts_with("TOCSIN_API_KEY_SECRET_FILE: set either"),
        "{both}"
    );
    let missing = load(&[("TOCSIN_SMTP_URL_FILE", "/nonexistent/smtp")], None)
        .unwrap_err()
        .to_string();
    assert!(missing.contains("TOCSIN_SMTP_URL_FILE"), "{missing}");
}

fn load_toml(toml: &str) -> Result<Config, ConfigError> {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), toml).unwrap();
    load(&[], Some(file.path()))
}

#[test]
fn accounts_of_one_provider_coexist_and_faults_name_their_section() {
    let base = r#"
        [routing]
        sms = "platform"
        email = "simulator"
        [email.simulator]
        enabled = true
        [routing.tenants.bras]
        sms = "bras"
        [sms.accounts.platform]
        provider = "smsmode"
        api_key = "shared-key"
        [sms.accounts.bras]
        provider = "smsmode"
        api_key = "commune-key"
    "#;
    let config = load_toml(base).unwrap();
    let names: Vec<(&str, &str)> = config
        .accounts
        .iter()
        .map(|a| (a.name.as_str(), a.kind.name))
        .collect();
    assert_eq!(
        names,
        [
            ("bras", "smsmode"),
            ("platform", "smsmode"),
            ("simulator", "simulator")
        ]
    );
    let debug = format!("{config:?}");
    assert!(
        !debug.contains("commune-key") && !debug.contains("shared-key"),
        "{debug}"
    );

    for (change, says) in [
        (
            "api_key = \"commune-key\"\nbase_url = \"nope\"",
            "sms.accounts.bras.base_url",
        ),
        (
            "api_key = \"commune-key\"\ncolour = 1",
            "sms.accounts.bras: unknown field `colour`",
        ),
        ("", "sms.accounts.bras: missing field `api_key`"),
    ] {
        let toml = base.replace("api_key = \"commune-key\"", change);
        let err = load_toml(&toml).unwrap_err().to_string();
        assert!(err.starts_with(says), "{err}");
    }
    for (toml, says) in [
        (
            base.replace(
                "provider = \"smsmode\"\n        api_key = \"commune-key\"",
                "api_key = \"k\"",
            ),
            "sms.accounts.bras.provider: name the account's provider: one of smsmode, simulator",
        ),
        (
            base.replace(
                "provider = \"smsmode\"\n        api_key = \"commune-key\"",
                "provider = \"smtp\"",
            ),
            "sms.accounts.bras.provider: unknown provider \"smtp\"",
        ),
        (
            base.replace("[sms.accounts.bras]", "[sms.accounts.Bras]"),
            "sms.accounts.Bras: an account name",
        ),
        (
            format!(
                "{base}\n[sms.smsmode]\napi_key = \"k\"\n[sms.accounts.smsmode]\nprovider = \"smsmode\"\napi_key = \"k\""
            ),
            "an account named \"smsmode\" is already configured",
        ),
        (
            base.replace("sms = \"bras\"", "sms = \"brass\""),
            "routing.sms: routes to \"brass\", which is not configured: add [sms.accounts.brass]",
        ),
        (
            format!("{base}\n[sms.twilo]\nkey = 1"),
            "sms.twilo: unknown provider",
        ),
    ] {
        let err = load_toml(&toml).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn unknown_keys_are_refused() {
    let dir = std::env::temp_dir().join(format!("tocsin-config-{}", std::process::id()));
    std::fs::write(&dir, "htp_addr = \"127.0.0.1:1\"\n").unwrap();
    let err = load(&[], Some(&dir)).unwrap_err().to_string();
    std::fs::remove_file(&dir).unwrap();
    assert!(err.contains("htp_addr"), "{err}");
}
