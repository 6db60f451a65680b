//! The parts of the OpenAPI document that no single route declares: its title, the API-key
//! scheme, the `Tocsin-Tenant` header and the answers every authenticated route may give (401,
//! 500).

use std::sync::Arc;

use utoipa::{
    OpenApi,
    openapi::{
        self, Components, ContentBuilder, RefOr, ResponseBuilder,
        path::{ParameterBuilder, ParameterIn},
        security::{HttpAuthScheme, HttpBuilder, SecurityScheme},
    },
};

use super::{
    error::{ErrorBody, ErrorDetail},
    group_alerts::{CommuneReport, GroupReport},
};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tocsin",
        description = "Alerts from a commune to its citizens by SMS and e-mail. Every route but \
                       /healthz and /openapi.json takes `Authorization: Bearer <API key>`; the \
                       key decides the tenant and the role (admin or sender). A key given on a \
                       group or the platform acts on a tenant of its subtree named by the \
                       `Tocsin-Tenant` header (its slug). Every error is \
                       `{\"error\": {\"code\", \"message\", \"field\"}}`; every answer carries \
                       `X-Request-Id`.",
        license(name = "AGPL-3.0-or-later")
    ),
    components(schemas(ErrorBody, ErrorDetail, GroupReport, CommuneReport)),
    tags(
        (name = "topics", description = "What citizens subscribe to"),
        (name = "subscribers", description = "Citizens and their subscriptions (admin keys only)"),
        (name = "alerts", description = "Sending and following alerts"),
        (name = "schedules", description = "Recurring alerts on the commune's local clock"),
        (name = "usage", description = "What a tenant and its subtree used, for re-invoicing"),
        (name = "audit", description = "Who did what, append-only and chained"),
        (name = "operations", description = "For operators and tools"),
        (name = "callbacks", description = "For SMS providers: delivery reports, citizens' SMS"),
        (name = "citizens", description = "For citizens, without a key"),
    )
)]
struct Base;

/// This document.
#[utoipa::path(get, operation_id = "openapi", path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document", body = Object)))]
pub async fn serve_document(
    axum::Extension(document): axum::Extension<Arc<openapi::OpenApi>>,
) -> axum::Json<openapi::OpenApi> {
    axum::Json(document.as_ref().clone())
}

pub fn base() -> openapi::OpenApi {
    Base::openapi()
}

/// Adds the security scheme, and 401 and 500 to every operation that needs a key.
pub fn finish(mut document: openapi::OpenApi) -> openapi::OpenApi {
    let components = document.components.get_or_insert_with(Components::new);
    components.add_security_scheme(
        "api_key",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .description(Some("An API key (`tsk_…`) made by `tocsin key create`"))
                .build(),
        ),
    );
    let error = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(RefOr::Ref(openapi::Ref::from_schema_name(
                        "ErrorBody",
                    ))))
                    .build(),
            )
            .build()
    };
    for item in document.paths.paths.values_mut() {
        for operation in [
            &mut item.get,
            &mut item.post,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            let responses = &mut operation.responses.responses;
            if operation.security.is_some() {
                responses
                    .entry("401".into())
                    .or_insert_with(|| error("Missing, unknown or revoked API key").into());
                operation
                    .parameters
                    .get_or_insert_with(Vec::new)
                    .push(RefOr::T(
                    ParameterBuilder::new()
                        .name("Tocsin-Tenant")
                        .parameter_in(ParameterIn::Header)
                        .description(Some(
                            "The slug of the tenant to act on, for a key given on a group or the \
                             platform: one of its subtree (404 for any other). Default: the \
                             key's own tenant.",
                        ))
                        .schema(Some(
                            utoipa::openapi::ObjectBuilder::new()
                                .schema_type(utoipa::openapi::Type::String),
                        ))
                        .build(),
                ));
            }
            responses.entry("500".into()).or_insert_with(|| {
                error("Internal error; `error.reference` is the request id to quote").into()
            });
        }
    }
    document
}
