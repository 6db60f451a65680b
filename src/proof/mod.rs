//! The proof of an alert: the document a mayor shows after a flood. Who sent it and when, the
//! exact text per channel, whom it was planned for, what became of each message and how fast,
//! and its audit entries with the chain's hash at that moment; a PDF in French, and the list of
//! recipients (masked) as CSV. Everything is read from the ledger and the audit log, which keep
//! no address after retention: the proof stays the same.

pub mod pdf;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use sqlx::PgPool;

use crate::{
    model::{
        AlertId, Channel, DeliveryStatus, Lane, PublicIds, masked, sms_text::sms_length,
        speech::Script,
    },
    store,
};
use pdf::Style;

#[derive(Debug, thiserror::Error)]
pub enum ProofError {
    #[error("no alert {0}")]
    NoAlert(AlertId),
    #[error("{0}")]
    Db(#[from] sqlx::Error),
}

/// The two documents of a proof.
pub struct Proof {
    pub pdf: Vec<u8>,
    pub csv: String,
}

/// Deliveries of one channel by outcome, as the proof counts them.
#[derive(Default)]
struct Outcomes {
    planned: i64,
    sent: i64,
    delivered: i64,
    failed: i64,
    expired: i64,
    pending: i64,
}

pub async fn make(
    db: &PgPool,
    ids: &PublicIds,
    id: AlertId,
    now: DateTime<Utc>,
) -> Result<Proof, ProofError> {
    let alert = store::alerts::get_for_dispatch(db, id)
        .await?
        .ok_or(ProofError::NoAlert(id))?;
    let zone = store::tenants::get(db, alert.tenant_id)
        .await?
        .clock
        .time_zone;
    let local = |at: DateTime<Utc>| at.with_timezone(&zone).format("%d/%m/%Y %H:%M:%S %Z");
    let mut outcomes: BTreeMap<Channel, Outcomes> = BTreeMap::new();
    for (channel, status, n) in store::tallies::counts(db, id).await? {
        let o = outcomes.entry(channel).or_default();
        o.planned += n;
        match status {
            DeliveryStatus::Sent => o.sent += n,
            DeliveryStatus::Delivered => o.delivered += n,
            DeliveryStatus::Failed => o.failed += n,
            DeliveryStatus::Expired => o.expired += n,
            _ => o.pending += n,
        }
    }
    let start = alert.starts_at.unwrap_or(alert.created_at);
    let mut objects = vec![id.to_string()];
    objects.extend(alert.group_alert_id.map(|g| g.to_string()));
    let (audit, head) = store::proof::audit(db, &objects).await?;

    let mut lines: Vec<(Style, String)> = Vec::new();
    let mut say = |style, text: String| lines.push((style, text));
    say(
        Style::Title,
        format!("Preuve d’alerte — {}", alert.tenant_name),
    );
    let kind = match (alert.exercise, alert.lane) {
        (true, _) => "exercice",
        (false, Lane::Urgent) => "alerte urgente",
        (false, Lane::Bulk) => "information",
    };
    say(
        Style::Body,
        format!("Alerte {id} ({kind}), thème « {} »", alert.topic),
    );
    say(
        Style::Body,
        format!("Commune : {} ({})", alert.tenant_name, alert.tenant),
    );
    if let Some(group) = &alert.sent_by {
        say(Style::Body, format!("Envoyée par le groupe : {group}"));
    }
    say(Style::Body, format!("Créée le {}", local(alert.created_at)));
    say(Style::Body, format!("Début de l’envoi : {}", local(start)));
    if let Some(cancelled) = alert.cancelled_at {
        say(Style::Body, format!("Annulée le {}", local(cancelled)));
    }
    if let Some(stopped) = alert.stopped_at {
        say(
            Style::Body,
            format!("Arrêtée en cours d’envoi le {}", local(stopped)),
        );
    }
    if alert.over_budget {
        say(
            Style::Body,
            "Envoyée au-delà du budget mensuel (alerte urgente).".into(),
        );
    }

    say(Style::Heading, "Textes envoyés".into());
    for channel in &alert.channels {
        match channel {
            Channel::Sms => {
                let length = sms_length(&alert.body);
                say(
                    Style::Body,
                    format!(
                        "SMS ({} segment(s), {}) : {}",
                        length.segments, length.encoding, alert.body
                    ),
                );
            }
            Channel::Email => {
                say(Style::Body, format!("Courriel, objet : {}", alert.subject));
                say(Style::Body, format!("Courriel, texte : {}", alert.body));
            }
            Channel::Push => say(
                Style::Body,
                format!("Notification : {} — {}", alert.subject, alert.body),
            ),
            Channel::Voice => say(
                Style::Body,
                format!(
                    "Appel, texte lu : {}",
                    Script::new(&alert.tenant_name, &alert.body).spoken()
                ),
            ),
        }
    }

    say(Style::Heading, "Destinataires et résultats".into());
    let recipients = alert.recipients.unwrap_or(0);
    say(
        Style::Body,
        format!("Personnes destinataires : {recipients}"),
    );
    for (channel, o) in &outcomes {
        say(
            Style::Body,
            format!(
                "{} : {} prévus, {} envoyés, {} remis, {} en échec, {} expirés, {} en attente",
                channel_name(*channel),
                o.planned,
                o.sent,
                o.delivered,
                o.failed,
                o.expired,
                o.pending
            ),
        );
    }
    let acknowledged = store::acknowledgements::acknowledged(db, id).await?;
    if acknowledged.people > 0 {
        say(
            Style::Body,
            format!(
                "Réception confirmée par {} personne(s) (touche 1, réponse OK, bouton de la page)",
                acknowledged.people
            ),
        );
    }
    match store::proof::sent_quantiles(db, id).await? {
        Some([half, ninety, all]) => {
            let after = |at: DateTime<Utc>| {
                let ms = (at - start).num_milliseconds().max(0);
                format!("{:.1} s", ms as f64 / 1000.0)
            };
            say(
                Style::Body,
                format!(
                    "Remis aux opérateurs : 50 % en {}, 90 % en {}, 100 % en {} après le début",
                    after(half),
                    after(ninety),
                    after(all)
                ),
            );
        }
        None => say(Style::Body, "Aucun message remis aux opérateurs.".into()),
    }

    say(Style::Heading, "Journal d’audit de l’alerte".into());
    if audit.is_empty() {
        say(Style::Body, "Aucune entrée.".into());
    }
    for entry in &audit {
        say(
            Style::Body,
            format!(
                "n° {} — {} — {} — {}",
                entry.seq,
                local(entry.at),
                entry.actor,
                entry.action
            ),
        );
        say(Style::Code, format!("empreinte {}", entry.hash));
    }
    if let Some((seq, hash)) = head {
        say(
            Style::Body,
            format!("Chaîne d’audit au moment de cette preuve : entrée n° {seq}"),
        );
        say(Style::Code, format!("empreinte {hash}"));
    }
    say(
        Style::Body,
        format!(
            "Document produit le {}. Les adresses sont masquées ; la liste des destinataires \
             est jointe (CSV).",
            local(now)
        ),
    );

    let mut csv = String::from(
        "livraison,canal,destinataire,statut,tentatives,remis_operateur,recu,erreur,confirme\n",
    );
    for r in store::proof::recipients(db, id).await? {
        let channel: Channel = r.channel.parse().unwrap_or(Channel::Sms);
        let to = match (&r.address, &r.address_masked) {
            (Some(address), _) => masked::address(channel, address),
            (None, Some(kept)) => kept.clone(),
            (None, None) => "(effacé)".into(),
        };
        let when = |at: Option<DateTime<Utc>>| at.map(|a| a.to_rfc3339()).unwrap_or_default();
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{}\n",
            ids.delivery(r.delivery()),
            channel,
            field(&to),
            r.status,
            r.attempts,
            when(r.sent_at),
            when(r.delivered_at),
            field(r.error.as_deref().unwrap_or("")),
            when(r.acknowledged_at),
        ));
    }
    Ok(Proof {
        pdf: pdf::render(&lines),
        csv,
    })
}

fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Sms => "SMS",
        Channel::Email => "Courriels",
        Channel::Push => "Notifications",
        Channel::Voice => "Appels",
    }
}

/// A CSV field, quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}
