//! Budgets at the API's door (`dispatch::policy::budget`): a dry run shows what each budget would have
//! left; an urgent alert goes at once and is marked afterwards, off the path of its answer. (A
//! routine alert over a budget is refused by intake, in the transaction that would write it.)

use super::AppState;
use crate::{
    dispatch::policy::budget::{self, BudgetLine},
    model::{AlertId, Lane, TenantId, TopicId, ValidAlert},
    store,
};

/// The budgets the alert's parts (each commune and its topic) meet; `apart`, the alert itself
/// once accepted.
pub(super) async fn lines(
    state: &AppState,
    parts: &[(TenantId, TopicId)],
    alert: &ValidAlert,
    apart: &[AlertId],
) -> Result<Vec<BudgetLine>, sqlx::Error> {
    let mut db = state.db.acquire().await?;
    let needs = budget::needs(&mut db, parts, alert).await?;
    budget::lines(&mut db, &needs, apart).await
}

/// For an urgent alert, once accepted: marks it `over_budget` when it went over one, and notes
/// the 80 % marks it reached, in the background (the answer does not wait for it).
pub(super) fn mark_urgent_over(
    state: &AppState,
    parts: Vec<(TenantId, TopicId, AlertId)>,
    alert: &ValidAlert,
) {
    if alert.lane != Lane::Urgent {
        return;
    }
    let (state, alert) = (state.clone(), alert.clone());
    tokio::spawn(async move {
        for (tenant, topic, id) in parts {
            if let Err(error) = mark(&state, tenant, topic, id, &alert).await {
                tracing::error!(%error, alert = %id, "budget not checked");
            }
        }
    });
}

async fn mark(
    state: &AppState,
    tenant: TenantId,
    topic: TopicId,
    id: AlertId,
    alert: &ValidAlert,
) -> Result<(), sqlx::Error> {
    let mut db = state.db.acquire().await?;
    // Counting the topic's subscribers reads every one of them (1.5 s for a million, beside the
    // alert's first messages): only when a budget applies.
    if store::budgets::budgeted_above(&mut *db, &[tenant])
        .await?
        .is_empty()
    {
        return Ok(());
    }
    let needs = budget::needs(&mut db, &[(tenant, topic)], alert).await?;
    let lines = budget::lines(&mut db, &needs, &[id]).await?;
    if lines.iter().any(BudgetLine::is_over) {
        tracing::warn!(alert = %id, "urgent alert sent over a budget");
        store::budgets::mark_over(&mut *db, id).await?;
    }
    budget::note_near(&mut db, &lines).await
}
