//! Usage, for re-invoicing: per tenant and month, the alerts sent (urgent, routine, exercises
//! apart), their messages by channel and outcome, the SMS segments providers accepted, and their
//! cost at each account's price (`[pricing.ACCOUNT]`). A group's row adds up its own alerts and
//! its members'; the total is the root's.

use std::collections::{BTreeMap, HashMap};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;
use sqlx::PgPool;

use super::policy::routing::Pricing;
use crate::{
    model::{
        Channel, DeliveryStatus, Lane, TenantId, TenantKind, sms_text::sms_length, speech::Script,
    },
    store,
};

/// A month as `2026-11`: its first day.
pub fn parse_month(text: &str) -> Result<NaiveDate, String> {
    let first = NaiveDate::parse_from_str(&format!("{}-01", text.trim()), "%Y-%m-%d")
        .map_err(|_| format!("{text:?} is not a month: write it as 2026-11"))?;
    Ok(first.with_day(1).unwrap_or(first))
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct AlertCounts {
    pub urgent: i64,
    pub routine: i64,
    /// Drills, counted apart from real alerts (their messages are counted with the others).
    pub exercise: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct ChannelUsage {
    /// Not handed to the provider yet (the alert was still sending when this was read).
    pub pending: i64,
    pub sent: i64,
    pub delivered: i64,
    pub failed: i64,
    pub expired: i64,
    /// SMS only: the segments of the messages providers accepted (sent and delivered).
    pub segments: i64,
    /// Voice only: the minutes of the calls answered, each call's begun minutes of its script
    /// (at about 150 words a minute).
    pub minutes: i64,
}

/// Messages sent for a commune outside its alerts: the public routes' codes and confirmation
/// links, the replies to keywords texted to it.
#[derive(Debug, Default, Clone, Serialize)]
pub struct ServiceUsage {
    /// Taken by the provider.
    pub sent: i64,
    /// Refused by the provider.
    pub failed: i64,
    /// SMS only: the segments of those sent.
    pub segments: i64,
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct Usage {
    pub alerts: AlertCounts,
    pub channels: BTreeMap<Channel, ChannelUsage>,
    /// Outside alerts, by channel.
    pub service: BTreeMap<Channel, ServiceUsage>,
    /// By currency: accepted segments (of alerts and service messages) at each account's
    /// `per_segment`; accounts without a price add nothing.
    pub cost: BTreeMap<String, f64>,
}

impl Usage {
    fn add(&mut self, other: &Usage) {
        self.alerts.urgent += other.alerts.urgent;
        self.alerts.routine += other.alerts.routine;
        self.alerts.exercise += other.alerts.exercise;
        for (channel, c) in &other.channels {
            let mine = self.channels.entry(*channel).or_default();
            mine.pending += c.pending;
            mine.sent += c.sent;
            mine.delivered += c.delivered;
            mine.failed += c.failed;
            mine.expired += c.expired;
            mine.segments += c.segments;
            mine.minutes += c.minutes;
        }
        for (channel, c) in &other.service {
            let mine = self.service.entry(*channel).or_default();
            mine.sent += c.sent;
            mine.failed += c.failed;
            mine.segments += c.segments;
        }
        for (currency, amount) in &other.cost {
            *self.cost.entry(currency.clone()).or_default() += amount;
        }
    }
}

#[derive(Debug, Serialize)]
pub struct TenantUsage {
    pub tenant: String,
    pub name: String,
    pub kind: TenantKind,
    pub parent: Option<String>,
    /// A group's (and the platform's) include everything below it.
    #[serde(flatten)]
    pub usage: Usage,
}

#[derive(Debug, Serialize)]
pub struct UsageReport {
    /// `2026-11`
    pub month: String,
    /// Parents before their members.
    pub tenants: Vec<TenantUsage>,
    /// The root's: everything the report covers.
    pub total: Usage,
}

/// The usage of `root` and its subtree in `month`.
pub async fn report(
    db: &PgPool,
    pricing: &HashMap<String, Pricing>,
    root: TenantId,
    month: NaiveDate,
) -> Result<UsageReport, sqlx::Error> {
    let alerts = store::usage::alerts_of_month(db, root, month).await?;
    // Parents come before their members.
    let nodes = store::tree::below(db, root).await?;
    let names: HashMap<TenantId, &str> = nodes.iter().map(|n| (n.id, n.name.as_str())).collect();
    let mut own: HashMap<TenantId, Usage> = HashMap::new();
    for alert in &alerts {
        let usage = own.entry(alert.tenant).or_default();
        let counted = match (alert.exercise, alert.lane) {
            (true, _) => &mut usage.alerts.exercise,
            (false, Lane::Urgent) => &mut usage.alerts.urgent,
            (false, Lane::Bulk) => &mut usage.alerts.routine,
        };
        *counted += 1;
        let segments = i64::try_from(sms_length(&alert.body).segments).unwrap_or(i64::MAX);
        for (channel, account, status, n) in &alert.deliveries {
            let c = usage.channels.entry(*channel).or_default();
            match status {
                DeliveryStatus::Queued | DeliveryStatus::Sending | DeliveryStatus::Retrying => {
                    c.pending += n;
                }
                DeliveryStatus::Sent => c.sent += n,
                DeliveryStatus::Delivered => c.delivered += n,
                DeliveryStatus::Failed => c.failed += n,
                DeliveryStatus::Expired => c.expired += n,
            }
            let accepted = matches!(status, DeliveryStatus::Sent | DeliveryStatus::Delivered);
            if *channel == Channel::Sms && accepted {
                c.segments += n * segments;
                if let Some(price) = pricing.get(account) {
                    *usage.cost.entry(price.currency.clone()).or_default() +=
                        (n * segments) as f64 * price.per_segment;
                }
            }
            if *channel == Channel::Voice && accepted {
                let commune = names.get(&alert.tenant).copied().unwrap_or_default();
                let minutes = n * Script::new(commune, &alert.body).minutes_begun();
                c.minutes += minutes;
                if let Some(price) = pricing.get(account) {
                    *usage.cost.entry(price.currency.clone()).or_default() +=
                        minutes as f64 * price.per_minute;
                }
            }
        }
    }
    for counted in store::service_messages::of_month(db, root, month).await? {
        let usage = own.entry(counted.tenant).or_default();
        let c = usage.service.entry(counted.channel).or_default();
        c.sent += counted.accepted;
        c.failed += counted.refused;
        if counted.channel == Channel::Sms {
            c.segments += counted.units;
            if let Some(price) = pricing.get(&counted.account) {
                *usage.cost.entry(price.currency.clone()).or_default() +=
                    counted.units as f64 * price.per_segment;
            }
        }
    }
    // Sums are made from the leaves up, walking backwards.
    let mut sums: Vec<Usage> = nodes
        .iter()
        .map(|n| own.remove(&n.id).unwrap_or_default())
        .collect();
    for i in (1..nodes.len()).rev() {
        let parent = nodes[i].parent.as_deref();
        if let Some(p) = nodes[..i]
            .iter()
            .rposition(|n| Some(n.slug.as_str()) == parent)
        {
            let member = sums[i].clone();
            sums[p].add(&member);
        }
    }
    let total = sums.first().cloned().unwrap_or_default();
    let tenants = nodes
        .into_iter()
        .zip(sums)
        .map(|(node, usage)| TenantUsage {
            tenant: node.slug,
            name: node.name,
            kind: node.kind,
            parent: node.parent,
            usage,
        })
        .collect();
    Ok(UsageReport {
        month: month.format("%Y-%m").to_string(),
        tenants,
        total,
    })
}

/// One line per tenant, for a spreadsheet.
pub fn csv(report: &UsageReport) -> String {
    let mut out = String::from(
        "month,tenant,kind,parent,alerts_urgent,alerts_routine,alerts_exercise,\
         sms_sent,sms_delivered,sms_failed,sms_expired,sms_segments,\
         email_sent,email_failed,push_sent,push_failed,cost,currency,\
         service_sms_sent,service_sms_segments,service_email_sent,voice_calls,voice_minutes\n",
    );
    for t in &report.tenants {
        let c = |channel| t.usage.channels.get(&channel).cloned().unwrap_or_default();
        let (sms, email, push) = (c(Channel::Sms), c(Channel::Email), c(Channel::Push));
        let service = |channel| t.usage.service.get(&channel).cloned().unwrap_or_default();
        let (service_sms, service_email) = (service(Channel::Sms), service(Channel::Email));
        let voice = c(Channel::Voice);
        let (currency, cost) = t
            .usage
            .cost
            .iter()
            .next()
            .map_or(("", 0.0), |(k, v)| (k.as_str(), *v));
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{:.2},{},{},{},{},{},{}\n",
            report.month,
            t.tenant,
            t.kind.as_str(),
            t.parent.as_deref().unwrap_or(""),
            t.usage.alerts.urgent,
            t.usage.alerts.routine,
            t.usage.alerts.exercise,
            sms.sent,
            sms.delivered,
            sms.failed,
            sms.expired,
            sms.segments,
            email.sent + email.delivered,
            email.failed,
            push.sent + push.delivered,
            push.failed,
            cost,
            currency,
            service_sms.sent,
            service_sms.segments,
            service_email.sent,
            voice.sent + voice.delivered,
            voice.minutes,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::parse_month;

    #[test]
    fn a_month_is_written_year_dash_month() {
        assert_eq!(
            parse_month("2026-11").unwrap(),
            chrono::NaiveDate::from_ymd_opt(2026, 11, 1).unwrap()
        );
        assert!(parse_month("2026-13").is_err());
        assert!(parse_month("novembre").is_err());
    }
}
