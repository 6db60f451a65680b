//! The commune page's e-mail side: subscribing by e-mail (double opt-in: a sealed, single-use
//! confirmation link), and leaving by e-mail (a link mailed to the address). Answers never tell
//! whether an address is known, and take the same time either way: mail leaves after answering.

use super::*;

/// How long an e-mail confirmation link stays good.
const CONFIRMATION_HOURS: i64 = 48;

/// Sends an e-mail of the commune (its own From, account and DKIM key) to a citizen.
async fn send_email(
    state: &AppState,
    tenant: &Tenant,
    to: &EmailAddress,
    subject: &str,
    text: &str,
) -> Result<(), ApiError> {
    let reference = format!("cit_{}", uuid::Uuid::now_v7().simple());
    // Never unsigned when the commune has a key: the citizen can ask again in a moment.
    let dkim = state
        .dkim
        .of(&state.db, tenant.id)
        .await
        .map_err(|_| ApiError::unavailable("the e-mail could not be sent"))?;
    let message = Message {
        reference: &reference,
        to: to.as_str(),
        subject,
        text,
        from: tenant.senders.email_from.as_deref(),
        dkim: dkim.as_deref(),
        ..Default::default()
    };
    let kind = (Channel::Email, crate::store::service_messages::Kind::Link);
    public::send_for(state, tenant, kind, message)
        .await
        .map_err(|()| ApiError::unavailable("the e-mail could not be sent"))
}

/// The address of an e-mail form, once the client is within its allowance.
async fn read_email(
    state: &AppState,
    shown: &Shown,
    client: &PublicClient,
    route: &'static str,
    typed: &str,
) -> Result<EmailAddress, ApiError> {
    public::count_client(state, &shown.tenant, client, route).await?;
    EmailAddress::parse(typed).map_err(|e| ApiError::invalid("email", e.to_string()))
}

/// Sends an e-mail to a citizen after the page answered, within the address's, the commune's
/// and the platform's caps: the answer takes the same time and says the same words whatever
/// happens here, so that it tells nobody whether the address is known.
fn send_after_answering(
    state: &AppState,
    tenant: &Tenant,
    route: &'static str,
    email: EmailAddress,
    subject: String,
    text: String,
) {
    let (state, tenant) = (state.clone(), tenant.clone());
    tokio::spawn(async move {
        match state.public_caps.email(route, tenant.id, &email).await {
            Ok(()) => {
                // A failure is logged where the provider's answer is read.
                let _ = send_email(&state, &tenant, &email, &subject, &text).await;
            }
            Err(crate::dispatch::policy::public_caps::CapError::Hit(_)) => {}
            Err(error) => tracing::warn!(%route, %error, "citizen e-mail not sent"),
        }
    });
}

pub(super) async fn email_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (shown, form, session) = match posted(&state, &slug, &headers, &body, Form::Email).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let typed = form.get("email").trim();
    let topics = form.all("topics");
    let chosen: Vec<&str> = topics.iter().map(String::as_str).collect();
    let values = FormValues {
        email: typed,
        topics: &chosen,
        ..Default::default()
    };
    let showing = || Showing {
        form: Some(Form::Email),
        values,
        ..Default::default()
    };
    let route = "email_form";
    let email = match read_email(&state, &shown, &client, route, typed).await {
        Ok(email) => email,
        Err(error) => return form_error(&state, &shown, &session, error, showing()).await,
    };
    let topics =
        match public::chosen_topics(&state, &shown.tenant, topics_of(&form).as_deref()).await {
            Ok(topics) => topics,
            Err(error) => {
                return form_error(&state, &shown, &session, error, showing()).await;
            }
        };
    let confirmation = EmailConfirmation {
        tenant: shown.tenant.id,
        email: email.as_str().to_string(),
        topics: topics.into_iter().map(|(_, slug)| slug).collect(),
        expires_at: Utc::now() + chrono::Duration::hours(CONFIRMATION_HOURS),
    };
    let link = state
        .links
        .confirmation_url(&shown.tenant.slug, &confirmation);
    let text = format!(
        "Bonjour,\n\nVous avez demandé à recevoir par e-mail les alertes de {name}.\n\n\
         Pour confirmer, ouvrez ce lien (valable {CONFIRMATION_HOURS} heures) :\n{link}\n\n\
         Si vous n’avez rien demandé, ignorez ce message : vous ne recevrez rien.\n",
        name = shown.tenant.name
    );
    let subject = format!(
        "Confirmez votre inscription aux alertes de {}",
        shown.tenant.name
    );
    send_after_answering(&state, &shown.tenant, route, email, subject, text);
    let outcome = Showing {
        notice: Some(Notice::Info(
            "Si cette adresse est valide, vous allez recevoir un e-mail pour confirmer votre \
             inscription. Le lien qu’il contient est valable 48 heures.",
        )),
        ..Default::default()
    };
    render(&state, &shown, &session, StatusCode::OK, outcome).await
}

/// The confirmation a token carries, when it is genuine, for this tenant and still good.
/// What a genuine, unexpired link of this commune asks, and the hash it is spent under.
fn confirmation_for(
    state: &AppState,
    shown: &Shown,
    token: &str,
) -> Option<(EmailConfirmation, Vec<u8>)> {
    let confirmation = state
        .links
        .confirmation(token)
        .filter(|c| c.tenant == shown.tenant.id && c.expires_at > Utc::now())?;
    Some((confirmation, state.links.link_hash(token)?))
}

const LINK_EXPIRED: &str = "Ce lien n’est plus valable (il l’est 48 heures) ou il est incomplet. \
    Vous pouvez refaire votre demande sur la page de la commune.";

const LINK_USED: &str = "Ce lien a déjà servi : l’adresse a été confirmée. Pour changer vos \
    thèmes, refaites une demande sur la page de la commune.";

fn link_used(shown: &Shown) -> Response {
    message(
        shown,
        StatusCode::GONE,
        "Lien déjà utilisé",
        LINK_USED,
        None,
    )
}

/// A confirmation link opened: a button confirms, so that a mail scanner following links
/// subscribes nobody.
pub(super) async fn email_confirm_page(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    Query(query): Query<TokenQuery>,
) -> Result<Response, ApiError> {
    let Some(shown) = shown(&state, &slug).await? else {
        return Ok(not_found());
    };
    let token = query.token.unwrap_or_default();
    let Some((confirmation, hash)) = confirmation_for(&state, &shown, &token) else {
        return Ok(message(
            &shown,
            StatusCode::BAD_REQUEST,
            "Lien expiré",
            LINK_EXPIRED,
            None,
        ));
    };
    if store::confirmations::link_spent(&state.db, &hash).await? {
        return Ok(link_used(&shown));
    }
    let url = format!("/c/{}/email/confirm", shown.tenant.slug);
    let text = format!(
        "Confirmez-vous vouloir recevoir les alertes de {} à l’adresse {} ?",
        shown.tenant.name, confirmation.email
    );
    let hidden = [("token", token.as_str())];
    Ok(message(
        &shown,
        StatusCode::OK,
        "Confirmer votre inscription",
        &text,
        Some(FormAction {
            url: &url,
            button: "Confirmer mon inscription",
            hidden: &hidden,
        }),
    ))
}

pub(super) async fn email_confirm(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    client::refuse_cross_site(&headers, &state.public_url)?;
    let Some(shown) = shown(&state, &slug).await? else {
        return Ok(not_found());
    };
    let form = FormBody::parse(&body);
    let token = form.get("token");
    let Some((confirmation, hash)) = confirmation_for(&state, &shown, token) else {
        return Ok(message(
            &shown,
            StatusCode::BAD_REQUEST,
            "Lien expiré",
            LINK_EXPIRED,
            None,
        ));
    };
    if store::confirmations::link_spent(&state.db, &hash).await? {
        return Ok(link_used(&shown));
    }
    let email = EmailAddress::parse(&confirmation.email)
        .map_err(|_| ApiError::internal("a signed confirmation holds an invalid address"))?;
    // Topics removed since the link was sent are left out.
    let offered = store::topics::for_keywords(&state.db, shown.tenant.id).await?;
    let topics: Vec<_> = offered
        .into_iter()
        .filter(|t| confirmation.topics.contains(&t.1))
        .map(|t| (t.0, t.1))
        .collect();
    store::subscribers::subscribe_by_email(
        &state.db,
        shown.tenant.id,
        &email,
        &topics,
        "address confirmed with the link sent to it",
    )
    .await?;
    // Spent once the subscription is made (two clicks at once subscribe once: it is an upsert).
    store::confirmations::spend_link(&state.db, &hash, confirmation.expires_at).await?;
    Ok(message(
        &shown,
        StatusCode::OK,
        "Inscription confirmée",
        "Votre adresse est inscrite : vous recevrez les alertes de la commune par e-mail. Chaque \
         message contient un lien pour vous désinscrire.",
        None,
    ))
}

pub(super) async fn leave_form(
    State(state): State<AppState>,
    Path(slug): Path<String>,
    client: PublicClient,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let (shown, form, session) = match posted(&state, &slug, &headers, &body, Form::Leave).await? {
        Ok(posted) => posted,
        Err(answer) => return Ok(answer),
    };
    let typed = form.get("email").trim();
    let values = FormValues {
        email: typed,
        ..Default::default()
    };
    let showing = || Showing {
        form: Some(Form::Leave),
        values,
        ..Default::default()
    };
    let route = "leave_form";
    let email = match read_email(&state, &shown, &client, route, typed).await {
        Ok(email) => email,
        Err(error) => return form_error(&state, &shown, &session, error, showing()).await,
    };
    // Looked up after answering: an unknown address is answered as fast as a known one.
    let (later, tenant) = (state.clone(), shown.tenant.clone());
    tokio::spawn(async move {
        let subscriber = match store::subscribers::by_email(&later.db, tenant.id, &email).await {
            Ok(Some(subscriber)) => subscriber,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!(%route, %error, "unsubscribe e-mail not sent");
                return;
            }
        };
        let link = later.links.unsubscribe_url(subscriber);
        let text = format!(
            "Bonjour,\n\nVous avez demandé à ne plus recevoir les alertes de {name} par e-mail.\n\n\
             Pour vous désinscrire, ouvrez ce lien :\n{link}\n\n\
             Si vous n’avez rien demandé, ignorez ce message : rien ne change.\n",
            name = tenant.name
        );
        let subject = format!("Désinscription des alertes de {}", tenant.name);
        send_after_answering(&later, &tenant, route, email, subject, text);
    });
    let outcome = Showing {
        notice: Some(Notice::Info(
            "Si cette adresse est inscrite, vous allez recevoir un e-mail contenant un lien pour \
             vous désinscrire.",
        )),
        ..Default::default()
    };
    render(&state, &shown, &session, StatusCode::OK, outcome).await
}
