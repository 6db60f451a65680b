//! Monthly budgets per tenant and channel (`tocsin tenant update --budget sms=2000`): SMS
//! segments, e-mails and browser notifications. What an alert would use is checked against its
//! commune's budget and every group's above it (a group's bounds its whole subtree), counting
//! what the month used so far (messages not failed or expired). A routine alert over a budget is
//! refused before anything is sent; an urgent one is never held by a budget: it is sent, then
//! marked `over_budget`.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgPool;

use crate::{
    model::{Channel, TenantId, TopicId, ValidAlert, sms_text::sms_length},
    store,
};

/// One budget an alert meets.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetLine {
    /// The tenant whose budget it is (the commune, or a group above it).
    pub tenant: String,
    pub channel: Channel,
    /// Per month: SMS segments, e-mails or notifications.
    pub budget: i64,
    /// This month so far, in the tenant's subtree.
    pub used: i64,
    /// What this alert would use in that subtree.
    pub this_alert: i64,
    /// What would be left after it (negative: over).
    pub left: i64,
}

impl BudgetLine {
    pub fn is_over(&self) -> bool {
        self.left < 0
    }
}

/// What one commune's part of an alert would use, per channel.
pub async fn need(
    db: &PgPool,
    topic: TopicId,
    alert: &ValidAlert,
) -> Result<BTreeMap<Channel, i64>, sqlx::Error> {
    let (sms, email, push) = store::alerts::recipients_by_channel(db, topic).await?;
    let segments = alert
        .sms_length
        .unwrap_or_else(|| sms_length(&alert.text))
        .segments as i64;
    Ok(alert
        .channels
        .iter()
        .map(|&channel| {
            let units = match channel {
                Channel::Sms => sms * segments,
                Channel::Email => email,
                Channel::Push => push,
            };
            (channel, units)
        })
        .collect())
}

/// Every budget the parts of an alert (each commune with what it would use) meet: each
/// commune's and every group's above them.
pub async fn lines(
    db: &PgPool,
    parts: &[(TenantId, BTreeMap<Channel, i64>)],
) -> Result<Vec<BudgetLine>, sqlx::Error> {
    // Each node above a part, with the sum of what the parts below it would use.
    let mut nodes: Vec<(TenantId, String, BTreeMap<Channel, i64>)> = Vec::new();
    for (tenant, need) in parts {
        for (node, slug) in store::budgets::with_ancestors(db, *tenant).await? {
            let at = match nodes.iter().position(|(id, ..)| *id == node) {
                Some(at) => at,
                None => {
                    nodes.push((node, slug, BTreeMap::new()));
                    nodes.len() - 1
                }
            };
            for (channel, units) in need {
                *nodes[at].2.entry(*channel).or_default() += units;
            }
        }
    }
    let mut lines = Vec::new();
    for (node, slug, need) in nodes {
        let budgets = store::budgets::of(db, node).await?;
        if budgets.is_empty() {
            continue;
        }
        let mut used: BTreeMap<Channel, i64> = BTreeMap::new();
        for (body, channel, n) in store::budgets::used_this_month(db, node).await? {
            let units = match channel {
                Channel::Sms => n * sms_length(&body).segments as i64,
                _ => n,
            };
            *used.entry(channel).or_default() += units;
        }
        for (channel, budget) in budgets {
            let Some(&this_alert) = need.get(&channel) else {
                continue;
            };
            let used = used.get(&channel).copied().unwrap_or(0);
            lines.push(BudgetLine {
                tenant: slug.clone(),
                channel,
                budget,
                used,
                this_alert,
                left: budget - used - this_alert,
            });
        }
    }
    Ok(lines)
}

/// `sms=2000`, `email=none` or `none` (every channel), as `tenant update --budget` takes them:
/// each channel with its monthly budget, or `None` to lift it.
pub fn parse_settings(given: &[String]) -> Result<Vec<(Channel, Option<i64>)>, String> {
    let mut settings = Vec::new();
    for item in given.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        if item == "none" {
            settings.extend(Channel::ALL.iter().map(|&c| (c, None)));
            continue;
        }
        let (channel, amount) = item
            .split_once('=')
            .ok_or_else(|| format!("{item:?}: write channel=amount, e.g. sms=2000, or none"))?;
        let channel: Channel = channel
            .trim()
            .parse()
            .map_err(|_| format!("{item:?}: the channel is sms, email or push"))?;
        let amount = match amount.trim() {
            "none" => None,
            n => Some(
                n.parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .ok_or_else(|| format!("{item:?}: the amount is a whole number, 0 or more"))?,
            ),
        };
        settings.push((channel, amount));
    }
    Ok(settings)
}

/// The refusal of a routine alert over budget, with its figures.
pub fn refusal(over: &[BudgetLine]) -> String {
    let each: Vec<String> = over
        .iter()
        .map(|l| {
            let unit = match l.channel {
                Channel::Sms => "SMS segments",
                Channel::Email => "e-mails",
                Channel::Push => "notifications",
            };
            format!(
                "{}: this alert needs {} {unit}, {} of its {} this month are used",
                l.tenant, l.this_alert, l.used, l.budget
            )
        })
        .collect();
    format!(
        "over budget ({}); an urgent alert is never held by a budget",
        each.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_given_per_channel_or_lifted() {
        let given = |items: &[&str]| {
            parse_settings(&items.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert_eq!(
            given(&["sms=2000", "email=none"]).unwrap(),
            [(Channel::Sms, Some(2000)), (Channel::Email, None)]
        );
        assert_eq!(given(&["none"]).unwrap().len(), Channel::ALL.len());
        assert!(given(&["sms"]).unwrap_err().contains("channel=amount"));
        assert!(
            given(&["fax=3"])
                .unwrap_err()
                .contains("sms, email or push")
        );
        assert!(given(&["sms=-1"]).unwrap_err().contains("0 or more"));
    }
}
