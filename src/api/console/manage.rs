//! The commune's topics, reminders and alert templates at the console. Topics and reminders are
//! created, paused, resumed and removed through the API's own functions (same validation, same audit entries). A reminder is checked
//! before it is saved: the repetition in French and its next five occurrences. Templates are
//! the commune's own beside the starter set (`model::templates`).

use axum::{
    extract::{Path, State},
    http::StatusCode,
    response::Response,
};
use serde::Deserialize;

use super::{
    ConsoleError, french_time, html, see_other,
    session::{SignedIn, SignedInForm},
    sign_in::Empty,
};
use crate::{
    api::{AppState, error::ApiError, schedules, topics},
    model::{
        AlertDraft, Permission, TemplateId, cron::Cron, templates::STARTERS, text::check_line,
    },
    store,
    web::{
        console::manage::{
            self as pages, ScheduleLine, ScheduleValues, SchedulesPage, TemplateLine,
            TemplatesPage, TopicsPage,
        },
        pages::Field,
    },
};

#[derive(Deserialize, Default)]
pub struct TopicForm {
    #[serde(default)]
    slug: String,
    #[serde(default)]
    name: String,
}

async fn topics_page(
    state: &AppState,
    who: &SignedIn,
    form: &TopicForm,
    errors: &[Field<'_>],
) -> Result<Response, ConsoleError> {
    let list: Vec<(String, String, i64)> = store::topics::list(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.name, t.slug, t.subscribers))
        .collect();
    let person = who.person();
    let page = pages::topics_page(&TopicsPage {
        person: &person,
        topics: &list,
        errors,
        slug: &form.slug,
        name: &form.name,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(status, page))
}

pub async fn topics(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, ConsoleError> {
    topics_page(&state, &who, &TopicForm::default(), &[]).await
}

pub async fn add_topic(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<TopicForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    match topics::add(&state, &who.caller, form.slug.trim(), Some(&form.name)).await {
        Ok(_) => Ok(see_other("/console/topics")),
        Err(e) if matches!(e.status, StatusCode::BAD_REQUEST | StatusCode::CONFLICT) => {
            let message = match e.status {
                StatusCode::CONFLICT => "Ce thème existe déjà.".to_string(),
                _ if e.field.as_deref() == Some("slug") => {
                    "Lettres minuscules, chiffres et tirets seulement (canicule, collecte-dechets)."
                        .to_string()
                }
                _ => e.message.clone(),
            };
            let name = if e.field.as_deref() == Some("name") {
                "name"
            } else {
                "slug"
            };
            let errors = [Field {
                name,
                message: &message,
            }];
            topics_page(&state, &who, &form, &errors).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct ScheduleForm {
    #[serde(default)]
    topic: String,
    #[serde(default)]
    cron: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    subject: String,
    /// `check` (show the occurrences) or `save`.
    #[serde(default)]
    step: String,
}

async fn schedules_page(
    state: &AppState,
    who: &SignedIn,
    form: &ScheduleForm,
    errors: &[Field<'_>],
    preview: Option<(Option<String>, Vec<String>)>,
) -> Result<Response, ConsoleError> {
    let now = state.clock.now();
    let list = store::schedules::list(&state.db, who.caller.tenant).await?;
    let ids: Vec<String> = list.iter().map(|s| s.id.to_string()).collect();
    let lines: Vec<ScheduleLine<'_>> = list
        .iter()
        .zip(&ids)
        .map(|(s, id)| ScheduleLine {
            id,
            topic: &s.topic,
            cron: &s.cron,
            french: s.cron.parse::<Cron>().ok().and_then(|c| c.in_french()),
            text: &s.alert.text,
            paused: s.paused_at.is_some(),
            next: s
                .next_at
                .filter(|_| s.paused_at.is_none())
                .map(|at| french_time(at.max(now), schedules::zone_of(s))),
        })
        .collect();
    let topics: Vec<(String, String)> = store::topics::list(&state.db, who.caller.tenant)
        .await?
        .into_iter()
        .map(|t| (t.slug, t.name))
        .collect();
    let person = who.person();
    let page = pages::schedules_page(&SchedulesPage {
        person: &person,
        schedules: &lines,
        topics: &topics,
        values: ScheduleValues {
            topic: &form.topic,
            cron: &form.cron,
            text: &form.text,
            subject: &form.subject,
        },
        errors,
        preview,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(status, page))
}

pub async fn schedules(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, ConsoleError> {
    schedules_page(&state, &who, &ScheduleForm::default(), &[], None).await
}

pub async fn add_schedule(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<ScheduleForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let cron = match form.cron.trim().parse::<Cron>() {
        Ok(cron) => cron,
        Err(e) => {
            let message = format!("Cette expression n'est pas lue ({e}).");
            let errors = [Field {
                name: "cron",
                message: &message,
            }];
            return schedules_page(&state, &who, &form, &errors, None).await;
        }
    };
    let zone = who.tenant.clock.time_zone;
    let next: Vec<String> = cron
        .occurrences_after(zone, state.clock.now())
        .take(5)
        .map(|o| french_time(o.at, zone))
        .collect();
    let preview = Some((cron.in_french(), next));
    if form.step != "save" {
        return schedules_page(&state, &who, &form, &[], preview).await;
    }
    let new = schedules::NewSchedule {
        topic: form.topic.clone(),
        cron: form.cron.trim().to_string(),
        time_zone: Some(zone.name().to_string()),
        text: form.text.clone(),
        subject: Some(form.subject.trim().to_string()).filter(|s| !s.is_empty()),
        urgent: false,
        channels: None,
        expires_in: None,
        gsm7: false,
    };
    match schedules::add(&state, &who.caller, new).await {
        Ok(_) => Ok(see_other("/console/schedules")),
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            let name = match e.field.as_deref() {
                Some("cron") => "cron",
                Some("topic") => "topic",
                Some("subject") => "subject",
                _ => "text",
            };
            let message = e.message.clone();
            let errors = [Field {
                name,
                message: &message,
            }];
            schedules_page(&state, &who, &form, &errors, preview).await
        }
        Err(e) => Err(e.into()),
    }
}

/// Pause, resume or remove: `what` is the last segment of the path.
pub async fn change_schedule(
    State(state): State<AppState>,
    Path((id, what)): Path<(String, String)>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::Administer)?;
    let done: Result<(), ApiError> = match what.as_str() {
        "pause" => schedules::pause_one(&state, &who.caller, &id).await,
        "resume" => schedules::resume_one(&state, &who.caller, &id).await,
        "remove" => schedules::remove_one(&state, &who.caller, &id).await,
        _ => return Err(ConsoleError::not_found()),
    };
    match done {
        Ok(()) => Ok(see_other("/console/schedules")),
        // Another commune's schedule, or a mistyped id: it does not exist here.
        Err(e) if matches!(e.status, StatusCode::NOT_FOUND | StatusCode::BAD_REQUEST) => {
            Err(ConsoleError::not_found())
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Deserialize, Default)]
pub struct TemplateForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    text: String,
    urgent: Option<String>,
}

async fn templates_page(
    state: &AppState,
    who: &SignedIn,
    form: &TemplateForm,
    errors: &[Field<'_>],
) -> Result<Response, ConsoleError> {
    let own = store::templates::list(&state.db, who.caller.tenant).await?;
    let keys: Vec<String> = own.iter().map(|t| t.id.to_string()).collect();
    let starter_keys: Vec<String> = STARTERS
        .iter()
        .map(|s| format!("starter:{}", s.key))
        .collect();
    let lines: Vec<TemplateLine<'_>> = own
        .iter()
        .zip(&keys)
        .map(|(t, key)| TemplateLine {
            name: &t.name,
            text: &t.text,
            urgent: t.urgent,
            key,
            own: true,
        })
        .chain(
            STARTERS
                .iter()
                .zip(&starter_keys)
                .map(|(s, key)| TemplateLine {
                    name: s.name,
                    text: s.text,
                    urgent: s.urgent,
                    key,
                    own: false,
                }),
        )
        .collect();
    let person = who.person();
    let page = pages::templates_page(&TemplatesPage {
        person: &person,
        templates: &lines,
        may_manage: who.caller.role.allows(Permission::ManageTemplates),
        errors,
        name: &form.name,
        subject: &form.subject,
        text: &form.text,
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(html(status, page))
}

pub async fn templates(
    State(state): State<AppState>,
    who: SignedIn,
) -> Result<Response, ConsoleError> {
    templates_page(&state, &who, &TemplateForm::default(), &[]).await
}

pub async fn add_template(
    State(state): State<AppState>,
    SignedInForm { who, form, .. }: SignedInForm<TemplateForm>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageTemplates)?;
    let name = form.name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 100 || check_line(name).is_err() {
        errors.push(Field {
            name: "name",
            message: "Donnez un nom d'une ligne (100 caractères au plus).",
        });
    }
    // The same rules as an alert's text and subject.
    let draft = AlertDraft {
        topic: "modele".into(),
        text: form.text.clone(),
        subject: Some(form.subject.trim().to_string()).filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let invalid = draft.validate().err().map(|e| (e.field, e.message));
    if let Some((field, message)) = &invalid {
        errors.push(Field {
            name: if *field == "subject" {
                "subject"
            } else {
                "text"
            },
            message,
        });
    }
    if !errors.is_empty() {
        return templates_page(&state, &who, &form, &errors).await;
    }
    let subject = draft.subject.as_deref();
    let id = store::templates::create(
        &state.db,
        who.caller.tenant,
        name,
        subject,
        &form.text,
        form.urgent.is_some(),
    )
    .await?;
    crate::api::audit::record(
        &state,
        &who.caller,
        "template.created",
        id,
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/console/templates"))
}

pub async fn remove_template(
    State(state): State<AppState>,
    Path(id): Path<String>,
    SignedInForm { who, .. }: SignedInForm<Empty>,
) -> Result<Response, ConsoleError> {
    who.caller.require(Permission::ManageTemplates)?;
    let id: TemplateId = id.parse().map_err(|_| ConsoleError::not_found())?;
    if !store::templates::remove(&state.db, who.caller.tenant, id).await? {
        return Err(ConsoleError::not_found());
    }
    crate::api::audit::record(
        &state,
        &who.caller,
        "template.removed",
        id,
        serde_json::json!({}),
    )
    .await;
    Ok(see_other("/console/templates"))
}
