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
                    .description(Some(
                        "Session access token for the workspace API (`/api/v1/…`): the \
                         `access_token` that `POST /api/v1/auth/register`, `/auth/login` or \
                         `/auth/refresh` returns. Paste the token only; `Bearer ` is added.",
                    ))
                    .build(),
            ),
        );
        let mut password = OAuth2::new([Flow::Password(Password::new(TOKEN_URL, Scopes::new()))]);
        password.description = Some(
            "The same session token, fetched by this dialog from your username and password \
             (`POST /api/v1/auth/token`). Leave client id and secret empty."
                .to_owned(),
        );
        components.add_security_scheme("oauth2", SecurityScheme::OAuth2(password));
        // Developer API keys, accepted in either header: the same key either way.
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("sk-aihub-…")
                    .description(Some(
                        "Developer API key for the OpenAI-compatible API (`/v1/…`), as \
                         `Authorization: Bearer sk-aihub-…`. Create one with `POST /api/v1/keys` \
                         (its secret is shown once). Not a session token.",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "x_api_key",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-API-Key",
                "The same developer API key in the `X-API-Key` header instead of \
                 `Authorization`.",
            ))),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "AI Hub",
        description = include_str!("openapi_info.md"),
        license(name = "MIT", identifier = "MIT")
    ),
    servers((url = "/", description = "This server (the origin that serves this document)")),
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
        (name = "system", description = "Health and readiness"),
        (name = "openai", description = "The OpenAI-compatible API (`/v1`), for applications and OpenAI SDKs; authenticated with developer API keys")
    ),
    components(schemas(
        crate::error::ErrorResponse,
        // The event a failed `/v1` stream ends with, named in `create_chat_completion`'s
        // description.
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
    finish(api)
}

/// Applies the document-wide rules ([`crate::openapi_contract`]) once every route's paths
/// and schemas are in.
pub(crate) fn finish(mut api: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    use utoipa::Modify;
    crate::openapi_contract::Contract.modify(&mut api);
    api
}
