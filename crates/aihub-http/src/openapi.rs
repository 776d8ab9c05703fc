//! The OpenAPI 3.1 document: metadata and security schemes here, paths collected by
//! utoipa-actix-web from the very registration that serves them ([`crate::server`]).

use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Flow, HttpAuthScheme, HttpBuilder, OAuth2, Password, Scopes,
    SecurityScheme,
};
use utoipa::{Modify, OpenApi};

/// Path of the OAuth2 password endpoint Swagger UI's Authorize button posts to.
pub const TOKEN_URL: &str = "/api/v1/auth/token";

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
        components.add_security_scheme(
            "oauth2",
            SecurityScheme::OAuth2(OAuth2::new([Flow::Password(Password::new(
                TOKEN_URL,
                Scopes::new(),
            ))])),
        );
        // Developer API keys on the `/v1` API, accepted in either header: the same key either way.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk-aihub-…")
                    .description(Some(
                        "A developer API key as `Authorization: Bearer <key>`.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "A developer API key as `X-API-Key: <key>`.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AI Hub",
        description = "Self-hosted multi-provider AI gateway: accounts, providers, conversations with streamed replies, usage and cost.",
        license(name = "MIT")
    ),
    modifiers(&SecuritySchemes),
    tags(
        (name = "auth", description = "Registration, login, tokens"),
        (name = "users", description = "The caller's account"),
        (name = "providers", description = "Upstream connections and their keys"),
        (name = "keys", description = "Developer API keys for the /v1 API"),
        (name = "model-preferences", description = "Saved model settings per provider kind, one default each"),
        (name = "models", description = "Model catalog, provider services, prices and token counting"),
        (name = "conversations", description = "Threads, messages, replies (whole or streamed)"),
        (name = "categories", description = "Labels for conversations and prompts"),
        (name = "prompts", description = "Prompt templates with {name} placeholders, and rendering them"),
        (name = "completions", description = "One-shot prompts with an exact response cache"),
        (name = "chat", description = "Stateless direct chat with a typed event stream (session, content, usage, done)"),
        (name = "system", description = "Health and readiness")
    ),
    components(schemas(
        crate::error::ErrorResponse,
        // `/v1` stream events: not a response body of their own (the stream is
        // `text/event-stream`), referenced from `create_chat_completion`'s description.
        crate::openai::wire::ChatCompletionChunk,
        crate::openai::wire::StreamError
    ))
)]
pub(crate) struct ApiDoc;

/// The document the server serves at `/openapi.json` (and `aihub openapi` writes).
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    use utoipa_actix_web::AppExt;
    let (_, api) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(crate::server::routes)
        .split_for_parts();
    api
}
