//! Budgets at the API's door (`dispatch::budget`): a routine alert over a budget is refused
//! before anything is written; an urgent one goes at once and is marked afterwards, off the
//! path of its answer; a dry run shows what each budget would have left.

use axum::http::StatusCode;

use super::{AppState, error::ApiError};
use crate::{
    dispatch::budget::{self, BudgetLine},
    model::{AlertId, Lane, TenantId, TopicId, ValidAlert},
    store,
};

/// The budgets the alert's parts (each commune and its topic) meet.
pub(super) async fn lines(
    state: &AppState,
    parts: &[(TenantId, TopicId)],
    alert: &ValidAlert,
) -> Result<Vec<BudgetLine>, sqlx::Error> {
    let mut needs = Vec::with_capacity(parts.len());
    for &(tenant, topic) in parts {
        needs.push((tenant, budget::need(&state.db, topic, alert).await?));
    }
    budget::lines(&state.db, &needs).await
}

/// Refuses a routine alert that would go over a budget, with the figures; an urgent one is
/// never checked here.
pub(super) async fn refuse_routine_over(
    state: &AppState,
    parts: &[(TenantId, TopicId)],
    alert: &ValidAlert,
) -> Result<(), ApiError> {
    if alert.lane == Lane::Urgent {
        return Ok(());
    }
    let over: Vec<BudgetLine> = lines(state, parts, alert)
        .await?
        .into_iter()
        .filter(BudgetLine::is_over)
        .collect();
    if over.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::BAD_REQUEST,
        "budget_exceeded",
        budget::refusal(&over),
    )
    .on("budget"))
}

/// For an urgent alert, once accepted: marks it `over_budget` when it went over one, in the
/// background (the answer does not wait for it).
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
            match lines(&state, &[(tenant, topic)], &alert).await {
                Ok(lines) if lines.iter().any(BudgetLine::is_over) => {
                    tracing::warn!(alert = %id, "urgent alert sent over a budget");
                    if let Err(error) = store::budgets::mark_over(&state.db, id).await {
                        tracing::error!(%error, alert = %id, "over_budget not recorded");
                    }
                }
                Ok(_) => {}
                Err(error) => tracing::error!(%error, alert = %id, "budget not checked"),
            }
        }
    });
}
