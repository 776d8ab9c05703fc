//! The actix-web server: routes, middleware, limits, Swagger UI.

use crate::error::render;
use crate::routes::{
    auth, catalog, categories, chat, completions, conversations, health, keys, model_preferences,
    prompts, providers, v1,
};
use actix_web::{HttpRequest, HttpResponse, web};
use aihub_core::App;
use aihub_domain::ErrorCode;
use std::time::Duration;
use utoipa::OpenApi;
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{AppExt, scope};
use utoipa_swagger_ui::SwaggerUi;

/// Server settings.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Largest accepted request body in bytes (default 10 MiB); larger gets 413.
    pub body_limit_bytes: usize,
    /// HTTP worker threads (default: one per core).
    pub workers: usize,
    /// How long a graceful stop waits for open requests (streams) before closing them.
    pub shutdown_timeout: Duration,
    /// Origins allowed by CORS; empty (the default) sends no CORS headers at all.
    pub cors_origins: Vec<String>,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            body_limit_bytes: 10 * 1024 * 1024,
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            shutdown_timeout: Duration::from_secs(30),
            cors_origins: Vec::new(),
        }
    }
}

/// Registers every documented route. The OpenAPI document is collected from this same
/// function, so routes and document cannot drift.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(health::health)
        .service(health::ready)
        .service(
            scope::scope("/api/v1")
                .configure(auth::routes)
                .configure(providers::routes)
                .configure(conversations::routes)
                .configure(keys::routes)
                .configure(model_preferences::routes)
                .configure(catalog::routes)
                .configure(categories::routes)
                .configure(prompts::routes)
                .configure(completions::routes)
                .configure(chat::routes),
        )
        // The OpenAI-compatible API for applications, authenticated by developer API keys.
        .service(
            scope::scope("/v1")
                .service(keys::key_info)
                .configure(v1::routes),
        );
}

/// Every documented path with the methods it answers (`"GET, POST"`), to tell a wrong method on
/// a known path (405 with `Allow`) from an unknown path (404). Built once, from the same
/// registration that serves the routes.
fn known_routes() -> &'static [(actix_web::dev::ResourceDef, String)] {
    static ROUTES: std::sync::OnceLock<Vec<(actix_web::dev::ResourceDef, String)>> =
        std::sync::OnceLock::new();
    ROUTES.get_or_init(|| {
        crate::openapi::openapi_document()
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods: Vec<&str> = [
                    ("GET", item.get.is_some()),
                    ("POST", item.post.is_some()),
                    ("PUT", item.put.is_some()),
                    ("PATCH", item.patch.is_some()),
                    ("DELETE", item.delete.is_some()),
                ]
                .into_iter()
                .filter_map(|(m, has)| has.then_some(m))
                .collect();
                (
                    actix_web::dev::ResourceDef::new(path.as_str()),
                    methods.join(", "),
                )
            })
            .collect()
    })
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    if let Some((_, allow)) = known_routes()
        .iter()
        .find(|(def, _)| def.is_match(req.path()))
    {
        let mut res = render(
            &aihub_core::Error::new(
                ErrorCode::MethodNotAllowed,
                format!(
                    "{} is not allowed on this path; it answers {allow}",
                    req.method()
                ),
            ),
            None,
        );
        if let Ok(value) = actix_web::http::header::HeaderValue::from_str(allow) {
            res.headers_mut()
                .insert(actix_web::http::header::ALLOW, value);
        }
        return res;
    }
    render(
        &aihub_core::Error::new(ErrorCode::RouteNotFound, "no such route"),
        None,
    )
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}

fn cors(origins: &[String]) -> actix_cors::Cors {
    let mut cors = actix_cors::Cors::default()
        .allowed_methods(["GET", "POST", "PUT", "PATCH", "DELETE"])
        .allowed_headers(["authorization", "content-type", "x-request-id", "x-api-key"])
        .expose_headers(["x-request-id"])
        .max_age(3600);
    for o in origins {
        cors = if o == "*" {
            cors.allow_any_origin()
        } else {
            cors.allowed_origin(o)
        };
    }
    cors
}

/// Builds the server on `listener` (not started: await it or spawn it). Signals are not
/// handled here: the binary stops the server through its handle, so readiness can go 503
/// first and the app can flush usage after.
///
/// # Errors
/// When the listener cannot be used.
pub fn server(
    app: App,
    listener: std::net::TcpListener,
    opts: HttpOptions,
) -> std::io::Result<actix_web::dev::Server> {
    let data = web::Data::new(app);
    let limit = opts.body_limit_bytes;
    let origins = opts.cors_origins.clone();
    let server = actix_web::HttpServer::new(move || {
        let (app, api) = actix_web::App::new()
            .into_utoipa_app()
            .openapi(crate::openapi::ApiDoc::openapi())
            .app_data(data.clone())
            .app_data(web::PayloadConfig::new(limit))
            .configure(routes)
            .split_for_parts();
        app.wrap(actix_web::middleware::from_fn(
            crate::middleware::authenticate,
        ))
        .wrap(actix_web::middleware::from_fn(
            crate::middleware::request_id,
        ))
        .wrap(actix_web::middleware::Condition::new(
            !origins.is_empty(),
            cors(&origins),
        ))
        .service(
            SwaggerUi::new("/docs/{_:.*}")
                .url("/openapi.json", crate::openapi::finish(api))
                .config(
                    utoipa_swagger_ui::Config::default()
                        .persist_authorization(true)
                        .display_operation_id(true)
                        .try_it_out_enabled(true)
                        .filter(true),
                ),
        )
        .route("/docs", web::get().to(docs_redirect))
        .default_service(web::to(not_found))
    })
    .on_connect(|conn, _| {
        // actix does not set TCP_NODELAY; without it the first streamed token waits ~40 ms.
        if let Some(tcp) = conn.downcast_ref::<actix_web::rt::net::TcpStream>() {
            let _ = tcp.set_nodelay(true);
        }
    })
    .workers(opts.workers.max(1))
    .shutdown_timeout(opts.shutdown_timeout.as_secs())
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
