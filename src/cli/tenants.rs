//! `tocsin tenant`: create, move and show tenants, and change their settings (senders, clock,
//! branding, DKIM, budgets, SIRETs, validation, population).

use std::path::Path;

use anyhow::{Context, bail};
use clap::Subcommand;

use super::ops::{database, load};
use crate::{
    config::Config,
    model::{QuietHours, keys::KeyRing},
    store,
};

// Parsed once per run: the size of its biggest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum TenantCommand {
    /// Create a tenant: `tocsin tenant create bras-sur-meuse --name "Bras-sur-Meuse"
    /// --parent cc-verdun`, `tocsin tenant create cc-verdun --kind group --name "CA du Grand
    /// Verdun"`.
    Create {
        /// Short identifier: lower-case letters, digits and dashes.
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
        /// commune, or group (a département, an intercommunality, a syndicat: it has members).
        #[arg(long, default_value = "commune")]
        kind: String,
        /// The group it belongs to; the platform when not given.
        #[arg(long)]
        parent: Option<String>,
    },
    /// Move a tenant, with everything below it, under another group (or the platform):
    /// `tocsin tenant move charny-sur-meuse --parent cc-argonne`.
    Move {
        slug: String,
        #[arg(long)]
        parent: String,
    },
    /// Show the tree of tenants: the platform, its groups and their communes.
    Tree {
        /// One JSON document (a list, parents before members), for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Change a tenant's settings, at once, without a restart:
    /// `tocsin tenant update bras-sur-meuse --timezone Europe/Paris --quiet-hours 21:00-08:00`,
    /// `--sms-account bras --sms-sender MAIRIEBRAS --email-from "Mairie <alertes@bras.fr>"`.
    Update {
        slug: String,
        /// IANA time zone that schedules, timed alerts and quiet hours are read in
        /// (Europe/Paris, America/Guadeloupe, Indian/Reunion, Pacific/Noumea…).
        #[arg(long)]
        timezone: Option<String>,
        /// Local hours when routine alerts wait (urgent ones do not): `21:00-08:00`, or `none`.
        #[arg(long)]
        quiet_hours: Option<String>,
        /// The configured SMS account carrying its SMS (`[sms.accounts.NAME]`, `smsmode`…), or
        /// `default` for the routing's.
        #[arg(long)]
        sms_account: Option<String>,
        /// The SMS account its new SMS go to while the first is failing (transient errors or
        /// timeouts above `[failover] failure_share`), or `default` for none.
        #[arg(long)]
        sms_secondary: Option<String>,
        /// The sender its SMS show: 3 to 11 letters or digits, not only digits, not a generic
        /// word such as ALERTE; `default` for the account's.
        #[arg(long)]
        sms_sender: Option<String>,
        /// The From of its e-mails (`Mairie de Bras <alertes@bras.fr>`); `default` for the
        /// account's.
        #[arg(long)]
        email_from: Option<String>,
        /// The most SMS segments one alert may take (1 to 10; 6 unless changed): a longer text
        /// is refused with its count.
        #[arg(long, value_parser = clap::value_parser!(i32).range(1..=10))]
        max_sms_segments: Option<i32>,
        /// Where the commune is, for numbers written in national form: FR (default), RE, GP,
        /// MQ, GF, YT, PM, NC, PF…
        #[arg(long)]
        region: Option<String>,
        /// The countries and territories its public routes (page, codes) and SMS keywords may
        /// text, as ISO 3166 codes: `FR,RE,GP,MQ,GF,YT,PM,NC,PF,WF,BL,MF` (France and its
        /// overseas, the default). Numbers it adds itself (API, imports) are not limited by it.
        #[arg(long)]
        sms_countries: Option<String>,
        /// The commune's logo on its page: a PNG, JPEG or WebP file of at most 200 kB, or `none`.
        #[arg(long)]
        logo: Option<String>,
        /// The commune's colour on its page (`#005a9c`), or `default`: it must keep a 4.5:1
        /// contrast with white (WCAG 2.1 AA), else it is refused.
        #[arg(long, visible_alias = "color")]
        colour: Option<String>,
        /// The DKIM selector of the commune's key (`tocsin` → `tocsin._domainkey.DOMAIN`), with
        /// --dkim-key or --dkim-generate. The domain is that of the tenant's e-mail From.
        #[arg(long)]
        dkim_selector: Option<String>,
        /// A PEM file of the commune's DKIM private key (RSA, 2048 bits or more), stored sealed
        /// under the server's secret and never printed; `none` stops signing.
        #[arg(long, conflicts_with = "dkim_generate")]
        dkim_key: Option<String>,
        /// Make a new 2048-bit DKIM key for the commune; `tenant show` prints the DNS record to
        /// publish.
        #[arg(long)]
        dkim_generate: bool,
        /// A new secret in the tenant's callback URLs: the URLs given to providers before stop
        /// working (set the new ones, which `tenant show` prints, at each provider).
        #[arg(long)]
        rotate_callback_token: bool,
        /// Monthly budgets: `sms=2000` (SMS segments), `email=5000`, `push=10000`, `voice=600`
        /// (minutes of call); `sms=none`
        /// lifts one, `none` all. A group's bounds the sum of its members'. Comma-separated or
        /// repeated.
        #[arg(long, value_delimiter = ',')]
        budget: Vec<String>,
        /// The SIRETs of the tenant's organisation (the mairie; a group has its own), matched
        /// against the `siret` of agents signing in through ProConnect; they replace the ones
        /// before. Comma-separated or repeated; `none` removes them.
        #[arg(long, value_delimiter = ',')]
        siret: Vec<String>,
        /// `on` (the default): a routine alert a drafter writes in the console waits for a
        /// sender's validation; `off`: it is sent at once. An urgent one is never held.
        #[arg(long, value_parser = ["on", "off"])]
        require_validation: Option<String>,
        /// How many people live there: the console shows the share subscribed. `none` removes it.
        #[arg(long)]
        population: Option<String>,
        /// `on`: alerts that name no channels call its fixed lines too; `off` (the default):
        /// only alerts naming `voice` call (calls cost more and wake people).
        #[arg(long, value_parser = ["on", "off"])]
        voice: Option<String>,
        /// The number its calls present, where the voice account lets communes present their
        /// own (`+33937001234`), or `default` for the account's. Never a 06/07 mobile; a
        /// geographic 01–05 number only if it is a verified multi-use number (ARCEP).
        #[arg(long)]
        voice_caller_id: Option<String>,
        /// The 01–05 `--voice-caller-id` is a verified multi-use number (no warning).
        #[arg(long, requires = "voice_caller_id")]
        voice_caller_id_verified: bool,
    },
    /// Show a tenant's settings.
    Show {
        slug: String,
        /// One JSON document, for scripts.
        #[arg(long)]
        json: bool,
    },
}

pub async fn tenant(path: Option<&Path>, command: TenantCommand) -> anyhow::Result<()> {
    match command {
        TenantCommand::Create {
            slug,
            name,
            kind,
            parent,
        } => super::tree::create(path, &slug, &name, &kind, parent.as_deref()).await,
        TenantCommand::Move { slug, parent } => super::tree::move_to(path, &slug, &parent).await,
        TenantCommand::Tree { json } => super::tree::show(path, json).await,
        TenantCommand::Update {
            slug,
            timezone,
            quiet_hours,
            sms_account,
            sms_secondary,
            sms_sender,
            email_from,
            max_sms_segments,
            region,
            sms_countries,
            logo,
            colour,
            dkim_selector,
            dkim_key,
            dkim_generate,
            rotate_callback_token,
            budget,
            siret,
            require_validation,
            population,
            voice,
            voice_caller_id,
            voice_caller_id_verified,
        } => {
            let voice_caller_id = or_default(voice_caller_id)
                .map(|id| {
                    id.map(|n| caller_id(&n, voice_caller_id_verified))
                        .transpose()
                })
                .transpose()?;
            let population = population
                .as_deref()
                .map(|p| match p.trim() {
                    "none" => Ok(None),
                    n => n.parse::<i32>().ok().filter(|n| *n > 0).map(Some).ok_or(()),
                })
                .transpose()
                .map_err(|()| anyhow::anyhow!("--population: a number of inhabitants, or none"))?;
            let sirets = parse_sirets(&siret)?;
            let budgets = crate::dispatch::policy::budget::parse_settings(&budget)
                .map_err(|e| anyhow::anyhow!("--budget {e}"))?;
            let config = load(path)?;
            let logo = logo.as_deref().map(read_logo).transpose()?;
            let colour = or_default(colour)
                .map(|c| {
                    c.map(|c| crate::web::colour::check_brand_colour(&c).map(|c| c.to_string()))
                        .transpose()
                })
                .transpose()
                .map_err(|e| anyhow::anyhow!("--colour: {e}"))?;
            let region = region
                .as_deref()
                .map(crate::model::phone::Region::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--region: {e}"))?;
            let sms_countries = sms_countries
                .as_deref()
                .map(crate::model::SmsCountries::parse)
                .transpose()
                .map_err(|e| anyhow::anyhow!("--sms-countries: {e}"))?;
            let sms_account = sms_account_setting(&config, sms_account, "--sms-account")?;
            let sms_secondary = sms_account_setting(&config, sms_secondary, "--sms-secondary")?;
            let sms_sender = or_default(sms_sender)
                .map(|sender| {
                    sender
                        .map(|s| tocsin_providers::sms::check_sender(&s).map(|()| s))
                        .transpose()
                })
                .transpose()
                .map_err(|e| anyhow::anyhow!("--sms-sender {e}"))?;
            let email_from = or_default(email_from)
                .map(|from| {
                    from.map(|f| {
                        let f = f.trim().to_string();
                        tocsin_providers::email::check_from(&f).map(|()| f)
                    })
                    .transpose()
                })
                .transpose()
                .map_err(|e| anyhow::anyhow!("--email-from: {e}"))?;
            let change = store::tenants::SettingsChange {
                time_zone: timezone
                    .as_deref()
                    .map(crate::model::local_time::time_zone)
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--timezone: {e}"))?,
                quiet_hours: quiet_hours
                    .as_deref()
                    .map(|text| match text.trim() {
                        "none" => Ok(None),
                        window => window.parse::<QuietHours>().map(Some),
                    })
                    .transpose()
                    .map_err(|e| anyhow::anyhow!("--quiet-hours: {e}"))?,
                sms_account,
                sms_secondary,
                sms_sender,
                email_from,
                max_sms_segments,
                region,
                sms_countries,
                voice_enabled: voice.as_deref().map(|v| v == "on"),
                voice_caller_id,
            };
            if change.time_zone.is_none()
                && change.quiet_hours.is_none()
                && change.sms_account.is_none()
                && change.sms_secondary.is_none()
                && change.sms_sender.is_none()
                && change.email_from.is_none()
                && change.max_sms_segments.is_none()
                && change.region.is_none()
                && change.sms_countries.is_none()
                && change.voice_enabled.is_none()
                && change.voice_caller_id.is_none()
                && logo.is_none()
                && colour.is_none()
                && dkim_key.is_none()
                && !dkim_generate
                && !rotate_callback_token
                && budgets.is_empty()
                && sirets.is_none()
                && require_validation.is_none()
                && population.is_none()
            {
                bail!("nothing to change: give at least one setting (see --help)");
            }
            let db = database(&config).await?;
            if !store::tenants::update(&db, &slug, &change).await? {
                bail!("no tenant {slug:?}");
            }
            if let Some(logo) = &logo {
                let logo = logo.as_ref().map(|(bytes, kind)| (bytes.as_slice(), *kind));
                store::branding::set_logo(&db, &slug, logo).await?;
            }
            if let Some(colour) = &colour {
                store::branding::set_colour(&db, &slug, colour.as_deref()).await?;
            }
            let pem = match (dkim_key.as_deref().map(str::trim), dkim_generate) {
                (Some("none"), _) => {
                    store::branding::set_dkim(&db, &slug, None).await?;
                    None
                }
                (Some(file), _) => Some(
                    std::fs::read_to_string(file)
                        .with_context(|| format!("--dkim-key: cannot read {file}"))?,
                ),
                (None, true) => Some(tocsin_providers::email::DkimKey::generate_pem()),
                (None, false) => None,
            };
            if let Some(pem) = pem {
                set_dkim(&config, &db, &slug, dkim_selector.as_deref(), &pem).await?;
            }
            if !budgets.is_empty() {
                let tenant = store::tenants::find_by_slug(&db, &slug)
                    .await?
                    .with_context(|| format!("no tenant {slug:?}"))?;
                for &(channel, per_month) in &budgets {
                    store::budgets::set(&db, tenant.id, channel, per_month).await?;
                }
            }
            if let Some(population) = population {
                let tenant = store::tenants::find_by_slug(&db, &slug)
                    .await?
                    .with_context(|| format!("no tenant {slug:?}"))?;
                store::tenants::set_population(&db, tenant.id, population).await?;
            }
            if let Some(on) = &require_validation {
                let tenant = store::tenants::find_by_slug(&db, &slug)
                    .await?
                    .with_context(|| format!("no tenant {slug:?}"))?;
                store::drafts::set_validation_required(&db, tenant.id, on == "on").await?;
            }
            if let Some(sirets) = &sirets {
                let tenant = store::tenants::find_by_slug(&db, &slug)
                    .await?
                    .with_context(|| format!("no tenant {slug:?}"))?;
                store::sirets::set(&db, tenant.id, sirets)
                    .await
                    .map_err(|e| anyhow::anyhow!("--siret: {e}"))?;
            }
            if rotate_callback_token {
                store::tenants::rotate_callback_token(&db, &slug).await?;
                eprintln!(
                    "tenant {slug}: new callback URLs below; give them to each provider, the \
                     old ones are refused from now on"
                );
            }
            let changed: Vec<&str> = [
                ("timezone", change.time_zone.is_some()),
                ("quiet_hours", change.quiet_hours.is_some()),
                ("sms_account", change.sms_account.is_some()),
                ("sms_secondary", change.sms_secondary.is_some()),
                ("sms_sender", change.sms_sender.is_some()),
                ("email_from", change.email_from.is_some()),
                ("max_sms_segments", change.max_sms_segments.is_some()),
                ("region", change.region.is_some()),
                ("sms_countries", change.sms_countries.is_some()),
                ("voice", change.voice_enabled.is_some()),
                ("voice_caller_id", change.voice_caller_id.is_some()),
                ("logo", logo.is_some()),
                ("colour", colour.is_some()),
                ("dkim", dkim_key.is_some() || dkim_generate),
                ("callback_token", rotate_callback_token),
                ("budget", !budgets.is_empty()),
                ("siret", sirets.is_some()),
                ("require_validation", require_validation.is_some()),
                ("population", population.is_some()),
            ]
            .into_iter()
            .filter_map(|(name, given)| given.then_some(name))
            .collect();
            let tenant = store::tenants::find_by_slug(&db, &slug)
                .await?
                .map(|t| t.id);
            let details = serde_json::json!({ "changed": changed });
            super::audit::record(&db, tenant, "tenant.updated", &slug, details).await?;
            eprintln!("tenant {slug} updated");
            show_tenant(&config, &db, &slug, false).await
        }
        TenantCommand::Show { slug, json } => {
            let config = load(path)?;
            let db = database(&config).await?;
            show_tenant(&config, &db, &slug, json).await
        }
    }
}

/// The URLs to give each SMS provider, for this tenant: where its delivery reports go, and
/// where citizens' SMS to the commune's number go for providers that pass them on.
fn callbacks(
    config: &Config,
    ring: Option<&KeyRing>,
    tenant: &store::tenants::Tenant,
) -> serde_json::Value {
    // Derived, never stored: only a holder of the server's secret can print it.
    let Some(ring) = ring else {
        return serde_json::Value::Null;
    };
    let token = crate::model::CallbackTokens::new(ring.clone())
        .token(tenant.id, tenant.callback_token_version);
    let token = token.as_str();
    tocsin_providers::registry::KINDS
        .iter()
        .filter(|k| k.channel == tocsin_providers::Channel::Sms && !k.rehearsal)
        .map(|k| {
            let url = |what| crate::dispatch::callback_url(&config.public_url, k.name, token, what);
            let mut urls = serde_json::json!({ "status": url("status") });
            if k.inbound {
                urls["inbound"] = url("inbound").into();
            }
            (k.name.to_string(), urls)
        })
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// An SMS account named on the command line, checked against the configuration.
fn sms_account_setting(
    config: &Config,
    value: Option<String>,
    flag: &str,
) -> anyhow::Result<Option<Option<String>>> {
    let Some(value) = or_default(value) else {
        return Ok(None);
    };
    let Some(name) = value else {
        return Ok(Some(None));
    };
    let known = config
        .accounts
        .iter()
        .any(|a| a.channel() == tocsin_providers::Channel::Sms && a.name == name);
    if !known {
        bail!(
            "{flag}: no SMS account {name:?} in the configuration ([sms.accounts.{name}] or \
             [sms.{name}])"
        );
    }
    Ok(Some(Some(name)))
}

/// `Some("default")` → `Some(None)`: back to the platform's default.
fn or_default(value: Option<String>) -> Option<Option<String>> {
    value.map(|v| (v.trim() != "default").then_some(v.trim().to_string()))
}

/// Checks a DKIM key for the tenant's From domain and stores it sealed.
async fn set_dkim(
    config: &Config,
    db: &sqlx::PgPool,
    slug: &str,
    selector: Option<&str>,
    pem: &str,
) -> anyhow::Result<()> {
    let selector = selector.context("--dkim-selector: name the key's selector (e.g. tocsin)")?;
    let tenant = store::tenants::find_by_slug(db, slug)
        .await?
        .with_context(|| format!("no tenant {slug:?}"))?;
    let from = tenant.senders.email_from.as_deref().context(
        "--dkim-key: set the commune's own From first (--email-from): DKIM signs for its domain",
    )?;
    // `Name <local@domain>` or a bare address: the domain is what follows the last `@`.
    let domain = from
        .trim()
        .trim_end_matches('>')
        .rsplit_once('@')
        .map(|(_, domain)| domain.to_string())
        .context("the tenant's From has no domain")?;
    let key = tocsin_providers::email::DkimKey::new(selector, &domain, pem)
        .map_err(|e| anyhow::anyhow!("--dkim-key: {e}"))?;
    let ring = super::keys::ring(config, db).await?;
    let sealed = ring.seal(
        &crate::model::sealed::dkim_context(tenant.id),
        pem.as_bytes(),
    );
    let dkim = store::branding::Dkim {
        selector: key.selector().to_string(),
        domain: key.domain().to_string(),
        sealed_key: sealed,
    };
    store::branding::set_dkim(db, slug, Some(&dkim)).await?;
    Ok(())
}

/// The DNS TXT record of the tenant's DKIM key, when it has one that opens here.
async fn dkim_record(
    ring: Option<&KeyRing>,
    db: &sqlx::PgPool,
    tenant: crate::model::TenantId,
) -> anyhow::Result<Option<(String, String)>> {
    let Some(ring) = ring else {
        return Ok(None);
    };
    let keys = crate::dispatch::dkim::DkimKeys::new(ring.clone());
    // A key that does not open here has no record to show (`tenant show` says it is set).
    Ok(keys
        .of(db, tenant)
        .await
        .ok()
        .flatten()
        .map(|key| key.dns_record()))
}

/// `--logo FILE` read and checked by its content (`none` removes it): see `web::logo`.
fn read_logo(given: &str) -> anyhow::Result<Option<(Vec<u8>, &'static str)>> {
    use crate::web::logo::{MAX_LOGO_BYTES, logo_kind};
    if given.trim() == "none" {
        return Ok(None);
    }
    // Read no more than the limit and one byte: a huge file, or /dev/zero, is refused without
    // being read whole.
    let mut bytes = Vec::with_capacity(MAX_LOGO_BYTES + 1);
    std::fs::File::open(given)
        .and_then(|file| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(file, MAX_LOGO_BYTES as u64 + 1),
                &mut bytes,
            )
        })
        .with_context(|| format!("--logo: cannot read {given}"))?;
    let kind = logo_kind(&bytes).map_err(|e| anyhow::anyhow!("--logo: {given} is {e}"))?;
    Ok(Some((bytes, kind)))
}

/// The commune's public page.
fn page_url(config: &Config, slug: &str) -> String {
    format!(
        "{}/c/{slug}",
        config.public_url.as_str().trim_end_matches('/')
    )
}

async fn show_tenant(
    config: &Config,
    db: &sqlx::PgPool,
    slug: &str,
    json: bool,
) -> anyhow::Result<()> {
    let tenant = store::tenants::find_by_slug(db, slug)
        .await?
        .with_context(|| format!("no tenant {slug:?}"))?;
    let quiet = tenant.clock.quiet_hours.map(|q| q.to_string());
    let senders = &tenant.senders;
    let ring = match config.api_key_secret {
        Some(_) => Some(super::keys::ring(config, db).await?),
        None => None,
    };
    let dkim = dkim_record(ring.as_ref(), db, tenant.id).await?;
    let budgets = store::budgets::of(db, tenant.id).await?;
    let sirets = store::sirets::of(db, tenant.id).await?;
    let validation = store::drafts::validation_required(db, tenant.id).await?;
    let population = store::tenants::population(db, tenant.id).await?;
    let sms_account = senders.sms_account.clone().unwrap_or_else(|| {
        config
            .routing
            .provider(&tenant.slug, crate::model::Channel::Sms)
            .to_string()
    });
    let email_account = config
        .routing
        .provider(&tenant.slug, crate::model::Channel::Email);
    if json {
        let shown = serde_json::json!({
            "id": tenant.id.to_string(),
            "slug": tenant.slug,
            "name": tenant.name,
            "timezone": tenant.clock.time_zone.name(),
            "region": tenant.region.code(),
            "sms_countries": tenant.sms_countries.codes(),
            "quiet_hours": quiet,
            "sms_account": sms_account,
            "sms_secondary": senders.sms_secondary,
            "sms_sender": senders.sms_sender,
            "email_account": email_account,
            "email_from": senders.email_from,
            "max_sms_segments": senders.max_sms_segments,
            "voice": senders.voice_enabled,
            "voice_caller_id": senders.voice_caller_id,
            "callbacks": callbacks(config, ring.as_ref(), &tenant),
            "page": page_url(config, &tenant.slug),
            "budgets": budgets,
            "sirets": sirets,
            "require_validation": validation,
            "population": population,
            "dkim": dkim.as_ref().map(|(name, value)| serde_json::json!({
                "dns_name": name, "dns_type": "TXT", "dns_value": value,
            })),
        });
        println!("{}", serde_json::to_string_pretty(&shown)?);
    } else {
        let own = |v: &Option<String>| v.clone().unwrap_or_else(|| "the account's".into());
        println!("{} ({})  {}", tenant.slug, tenant.id, tenant.name);
        println!(
            "  timezone     {} (region {})",
            tenant.clock.time_zone.name(),
            tenant.region.code()
        );
        println!("  quiet hours  {}", quiet.as_deref().unwrap_or("none"));
        println!("  public SMS   to {} only", tenant.sms_countries);
        println!(
            "  SMS          account {sms_account}, sender {}, at most {} segments",
            own(&senders.sms_sender),
            senders.max_sms_segments
        );
        println!(
            "  e-mail       account {email_account}, From {}",
            own(&senders.email_from)
        );
        println!(
            "  calls        {}, caller id {}",
            if senders.voice_enabled {
                "also for alerts naming no channels"
            } else {
                "only for alerts naming voice"
            },
            own(&senders.voice_caller_id)
        );
        println!("  page         {}", page_url(config, &tenant.slug));
        if !budgets.is_empty() {
            let each: Vec<String> = budgets.iter().map(|(c, n)| format!("{c} {n}")).collect();
            println!("  budgets      per month: {}", each.join(", "));
        }
        if !sirets.is_empty() {
            println!("  SIRET        {}", sirets.join(", "));
        }
        if let Some(population) = population {
            println!("  population   {population}");
        }
        println!(
            "  validation   {}",
            if validation {
                "a drafter's routine alerts wait for a sender"
            } else {
                "a drafter's alerts are sent at once"
            }
        );
        match callbacks(config, ring.as_ref(), &tenant) {
            serde_json::Value::Object(urls) => {
                println!("  callbacks    give each provider its URLs:");
                for (provider, urls) in urls {
                    for (what, url) in urls.as_object().into_iter().flatten() {
                        println!(
                            "               {provider} {what}: {}",
                            url.as_str().unwrap_or("")
                        );
                    }
                }
            }
            _ => println!("  callbacks    set api_key_secret to print them"),
        }
        match &dkim {
            Some((name, value)) => {
                println!("  DKIM         publish this DNS record:");
                println!("               {name} TXT \"{value}\"");
            }
            None => println!("  DKIM         none (e-mail unsigned)"),
        }
    }
    Ok(())
}

/// `--siret`: none given, `none` (remove them all), or SIRETs; a key that does not match is
/// reported (a typo?) and kept.
fn parse_sirets(given: &[String]) -> anyhow::Result<Option<Vec<crate::model::siret::Siret>>> {
    use crate::model::siret::Siret;
    match given {
        [] => Ok(None),
        [none] if none.trim() == "none" => Ok(Some(Vec::new())),
        sirets => {
            let parsed = sirets
                .iter()
                .map(|s| Siret::parse(s))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| anyhow::anyhow!("--siret: {e}"))?;
            for siret in parsed.iter().filter(|s| !s.key_matches()) {
                eprintln!("warning: --siret {siret}: its check digit does not match (a typo?)");
            }
            Ok(Some(parsed))
        }
    }
}

/// A commune's own caller id, by the French rules on automated calls: a 06/07 mobile is
/// refused; a geographic 01–05 number passes with a warning unless declared verified.
fn caller_id(number: &str, verified: bool) -> anyhow::Result<String> {
    use tocsin_providers::voice::{CallerIdRule, caller_id_rule};
    let number = crate::model::PhoneNumber::parse(number)
        .map_err(|e| anyhow::anyhow!("--voice-caller-id: {e}"))?;
    match caller_id_rule(number.as_str()) {
        CallerIdRule::Refused(why) => bail!("--voice-caller-id: {why}"),
        CallerIdRule::NeedsVerification if !verified => eprintln!(
            "warning: --voice-caller-id {number} is a geographic 01–05 number: automated calls \
             may present it only if it is a verified multi-use number (ARCEP decision 2022-1583), \
             or French operators cut them; add --voice-caller-id-verified once it is"
        ),
        _ => {}
    }
    Ok(number.as_str().to_owned())
}

#[cfg(test)]
mod tests {
    use super::read_logo;
    use crate::web::logo::MAX_LOGO_BYTES;

    #[test]
    fn a_logo_over_the_limit_is_refused_without_being_read_whole() {
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        png.resize(MAX_LOGO_BYTES, 0);
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), &png).unwrap();
        let path = file.path().to_str().unwrap();
        assert_eq!(read_logo(path).unwrap().unwrap().1, "image/png");
        png.push(0);
        std::fs::write(file.path(), &png).unwrap();
        let error = read_logo(path).unwrap_err().to_string();
        assert!(error.contains("more than 200 kB"), "{error}");
        // An endless file ends at the limit.
        let error = read_logo("/dev/zero").unwrap_err().to_string();
        assert!(error.contains("more than 200 kB"), "{error}");
    }
}
