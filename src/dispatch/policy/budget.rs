//! Monthly budgets per tenant and channel (`tocsin tenant update --budget sms=2000`): SMS
//! segments, e-mails and browser notifications. What an alert would use is checked against its
//! commune's budget and every group's above it (a group's bounds its whole subtree), counting
//! what the month used so far (messages not failed or expired). A routine alert over a budget is
//! refused before anything is sent; an urgent one is never held by a budget: it is sent, then
//! marked `over_budget`.

use std::collections::BTreeMap;

use serde::Serialize;
use sqlx::PgConnection;

use crate::dispatch::pipeline::intake::IntakeError;
use crate::{
    model::{
        AlertId, Channel, Lane, TenantId, TopicId, ValidAlert, sms_text::sms_length, speech::Script,
    },
    store::{self, budgets::Used},
};

/// One budget an alert meets.
#[derive(Debug, Clone, Serialize)]
pub struct BudgetLine {
    #[serde(skip)]
    pub node: TenantId,
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

    /// At least 80 % of the budget used once this alert is counted: the node's admins are told.
    pub fn is_near(&self) -> bool {
        self.budget > 0 && (self.used + self.this_alert) * 5 >= self.budget * 4
    }
}

/// What one commune's part of an alert would use, per channel: SMS segments, e-mails,
/// notifications, minutes of call (each call's begun minutes).
pub async fn need(
    db: &mut PgConnection,
    tenant: TenantId,
    topic: TopicId,
    alert: &ValidAlert,
) -> Result<BTreeMap<Channel, i64>, sqlx::Error> {
    let commune = store::tenants::get(&mut *db, tenant).await?;
    let reach = store::alerts::reach(db, topic).await?;
    let segments = alert
        .sms_length
        .unwrap_or_else(|| sms_length(&alert.text))
        .segments as i64;
    Ok(alert
        .channels_for(commune.senders.voice_enabled)
        .into_iter()
        .map(|channel| {
            let units = match channel {
                Channel::Sms => reach.sms * segments,
                Channel::Email => reach.email,
                Channel::Push => reach.push,
                Channel::Voice => {
                    let minutes = Script::new(&commune.name, &alert.text).minutes_begun();
                    reach.calls(alert.calls_mobiles()) * minutes
                }
            };
            (channel, units)
        })
        .collect())
}

/// What each part of an alert (a commune and its topic) would use.
pub async fn needs(
    db: &mut PgConnection,
    parts: &[(TenantId, TopicId)],
    alert: &ValidAlert,
) -> Result<Vec<(TenantId, BTreeMap<Channel, i64>)>, sqlx::Error> {
    let mut needs = Vec::with_capacity(parts.len());
    for &(tenant, topic) in parts {
        needs.push((tenant, need(&mut *db, tenant, topic, alert).await?));
    }
    Ok(needs)
}

/// Every budget the parts of an alert (each commune with what it would use) meet: each
/// commune's and every group's above them. `apart`: the alert itself once accepted, whose
/// messages are what it would use, not what was used before it.
pub async fn lines(
    db: &mut PgConnection,
    parts: &[(TenantId, BTreeMap<Channel, i64>)],
    apart: &[AlertId],
) -> Result<Vec<BudgetLine>, sqlx::Error> {
    // Each node above a part, with the sum of what the parts below it would use.
    let mut nodes: Vec<(TenantId, String, BTreeMap<Channel, i64>)> = Vec::new();
    for (tenant, need) in parts {
        for (node, slug) in store::budgets::with_ancestors(&mut *db, *tenant).await? {
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
        let budgets = store::budgets::of(&mut *db, node).await?;
        if budgets.is_empty() {
            continue;
        }
        let used = used_this_month(db, node, apart).await?;
        for (channel, budget) in budgets {
            let Some(&this_alert) = need.get(&channel) else {
                continue;
            };
            let used = used.get(&channel).copied().unwrap_or(0);
            lines.push(BudgetLine {
                node,
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

/// What `node`'s subtree used this month, per channel (SMS in segments).
pub(crate) async fn used_this_month(
    db: &mut PgConnection,
    node: TenantId,
    apart: &[AlertId],
) -> Result<BTreeMap<Channel, i64>, sqlx::Error> {
    let mut used: BTreeMap<Channel, i64> = BTreeMap::new();
    for counted in store::budgets::used_this_month(db, node, apart).await? {
        let (channel, units) = match counted {
            Used::Messages {
                body,
                channel: Channel::Sms,
                messages,
                ..
            } => (Channel::Sms, messages * sms_length(&body).segments as i64),
            Used::Messages {
                body,
                commune,
                channel: Channel::Voice,
                messages,
            } => (
                Channel::Voice,
                messages * Script::new(&commune, &body).minutes_begun(),
            ),
            Used::Messages {
                channel, messages, ..
            } => (channel, messages),
            Used::Units { channel, units } => (channel, units),
        };
        *used.entry(channel).or_default() += units;
    }
    Ok(used)
}

/// What a routine alert holds of its budgets, from its acceptance until its fan-out has planned
/// its messages.
#[derive(Debug)]
pub struct Hold {
    needs: Vec<(TenantId, BTreeMap<Channel, i64>)>,
}

impl Hold {
    /// Records what the alert of `tenant`'s part holds, in the transaction that writes it.
    pub async fn keep(
        &self,
        tx: &mut PgConnection,
        tenant: TenantId,
        alert: AlertId,
    ) -> Result<(), sqlx::Error> {
        match self.needs.iter().find(|(t, _)| *t == tenant) {
            Some((_, need)) => store::budgets::hold(tx, alert, need).await,
            None => Ok(()),
        }
    }
}

/// Checks a routine alert against every budget its parts meet, in the transaction that will
/// write it: refused with the figures when it would go over one; otherwise a [`Hold`] for the
/// alerts to record, and the 80 % marks it reaches noted. Alerts that meet the same budget are
/// checked one after the other (a lock per budget, until the transaction ends), each counting
/// what the ones before it hold: two alerts accepted together cannot both fit a budget that
/// holds one. An urgent alert is never checked here (nor waits on those locks).
pub async fn hold(
    tx: &mut PgConnection,
    parts: &[(TenantId, TopicId)],
    alert: &ValidAlert,
) -> Result<Option<Hold>, IntakeError> {
    if alert.lane == Lane::Urgent {
        return Ok(None);
    }
    let tenants: Vec<TenantId> = parts.iter().map(|&(tenant, _)| tenant).collect();
    let budgeted = store::budgets::budgeted_above(&mut *tx, &tenants).await?;
    if budgeted.is_empty() {
        return Ok(None);
    }
    store::budgets::lock(tx, &budgeted).await?;
    let needs = needs(tx, parts, alert).await?;
    let lines = lines(tx, &needs, &[]).await?;
    let over: Vec<BudgetLine> = lines.iter().filter(|l| l.is_over()).cloned().collect();
    if !over.is_empty() {
        return Err(IntakeError::OverBudget(over));
    }
    note_near(tx, &lines).await?;
    Ok(Some(Hold { needs }))
}

/// Notes the 80 % marks `lines` reach (their e-mail goes once a month, see `budget_warnings`).
pub async fn note_near(db: &mut PgConnection, lines: &[BudgetLine]) -> Result<(), sqlx::Error> {
    for line in lines.iter().filter(|l| l.is_near()) {
        store::budgets::reach_warning(&mut *db, line.node, line.channel).await?;
    }
    Ok(())
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
            .map_err(|_| format!("{item:?}: the channel is sms, email, push or voice"))?;
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
                Channel::Voice => "call minutes",
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
                .contains("sms, email, push or voice")
        );
        assert!(given(&["sms=-1"]).unwrap_err().contains("0 or more"));
    }
}
