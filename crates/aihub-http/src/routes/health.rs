//! `/health` (liveness) and `/health/ready` (readiness: the database answers, not draining).

use actix_web::{HttpResponse, get, web};
use aihub_core::App;
use serde::Serialize;
use utoipa::ToSchema;

/// Liveness.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthResponse {
    /// `ok`.
    pub status: &'static str,
    /// Version of the binary.
    pub version: &'static str,
    /// Seconds since start.
    pub uptime_s: u64,
}

/// One dependency's check.
#[derive(Debug, Serialize, ToSchema)]
pub struct ComponentCheck {
    /// `ok` or `error`.
    pub status: &'static str,
    /// Round trip in milliseconds.
    pub response_time_ms: f64,
    /// `sqlite` or `postgres` for the database.
    #[schema(required = true)]
    pub backend: Option<&'static str>,
    /// What failed.
    #[schema(required = true)]
    pub error: Option<String>,
}

/// Readiness.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReadyResponse {
    /// `ready`, or `not_ready` (503) when a dependency fails or shutdown began.
    pub status: &'static str,
    /// Shutting down.
    pub draining: bool,
    /// The database.
    pub database: ComponentCheck,
    /// Generations streaming now.
    pub active_generations: usize,
    /// Usage records queued for the writer.
    pub usage_pending: u64,
}

/// Liveness: the process answers.
#[utoipa::path(tag = "system", operation_id = "get_health", security(()), responses((status = 200, description = "The process is up", body = HealthResponse)))]
#[get("/health")]
pub async fn health(app: web::Data<App>) -> HttpResponse {
    HttpResponse::Ok().json(HealthResponse {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        uptime_s: app.uptime().as_secs(),
    })
}

/// Readiness: the database answers and the server is not shutting down.
#[utoipa::path(tag = "system", operation_id = "get_readiness", security(()), responses((status = 200, description = "Ready: every dependency answered", body = ReadyResponse), (status = 503, description = "Not ready: a dependency did not answer", body = ReadyResponse)))]
#[get("/health/ready")]
pub async fn ready(app: web::Data<App>) -> HttpResponse {
    let pinger = app.get_ref().clone();
    let ping = app.run(async move { pinger.ping_database().await }).await;
    let (database, db_ok) = match ping {
        Ok(d) => (
            ComponentCheck {
                status: "ok",
                response_time_ms: d.as_secs_f64() * 1000.0,
                backend: Some(app.database_backend()),
                error: None,
            },
            true,
        ),
        Err(e) => (
            ComponentCheck {
                status: "error",
                response_time_ms: 0.0,
                backend: Some(app.database_backend()),
                error: Some(e.message),
            },
            false,
        ),
    };
    let draining = app.is_draining();
    let ok = db_ok && !draining;
    let body = ReadyResponse {
        status: if ok { "ready" } else { "not_ready" },
        draining,
        database,
        active_generations: app.active_generations(),
        usage_pending: app.usage_pending(),
    };
    if ok {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
