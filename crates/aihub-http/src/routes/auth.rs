//! `/api/v1/auth/*` and `/api/v1/users/me`: accounts and sessions.

use crate::dto::{double_option, ts};
use crate::error::{ApiError, ApiResult, ErrorResponse};
use crate::extract::{AuthUser, ValidJson, call, client_ip};
use actix_web::{HttpRequest, HttpResponse, get, post, put, web};
use aihub_core::App;
use aihub_core::auth::{IssuedTokens, ProfileUpdate, Registration, User};
use aihub_domain::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

/// An account as the API shows it (never the password hash).
#[derive(Debug, Serialize, ToSchema)]
pub struct UserResponse {
    /// Id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// E-mail.
    pub email: String,
    /// Display name.
    #[schema(required = true)]
    pub full_name: Option<String>,
    /// `user` or `admin`.
    pub role: Role,
    /// Active flag.
    pub is_active: bool,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<&User> for UserResponse {
    fn from(u: &User) -> Self {
        UserResponse {
            id: u.id,
            username: u.username.clone(),
            email: u.email.clone(),
            full_name: u.full_name.clone(),
            role: u.role,
            is_active: u.is_active,
            created_at: ts(u.created_at),
            updated_at: ts(u.updated_at),
        }
    }
}

/// Body of `POST /auth/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// 3–50 of letters, digits, `_ - .`.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// 8 characters to 72 bytes (longer is refused, never truncated).
    pub password: String,
    /// Must equal `password` when given.
    pub confirm_password: Option<String>,
    /// Display name.
    pub full_name: Option<String>,
}

/// Body of `POST /auth/login`: `username` or `email` (either matches both), and `password`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Username or e-mail.
    pub username: Option<String>,
    /// E-mail or username.
    pub email: Option<String>,
    /// Password.
    pub password: String,
}

/// Form of `POST /auth/token` (OAuth2 password grant, RFC 6749 §4.3).
#[derive(Debug, Deserialize, ToSchema)]
pub struct TokenForm {
    /// `password` (optional).
    pub grant_type: Option<String>,
    /// Username or e-mail.
    pub username: String,
    /// Password.
    pub password: String,
    /// Ignored.
    pub scope: Option<String>,
    /// Ignored.
    pub client_id: Option<String>,
    /// Ignored.
    pub client_secret: Option<String>,
}

/// Body of `POST /auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The refresh token from register, login or the last refresh.
    pub refresh_token: String,
}

/// Answer of register, login and refresh.
#[derive(Debug, Serialize, ToSchema)]
pub struct AuthResponse {
    /// The account.
    pub user: UserResponse,
    /// JWT access token (send as `Authorization: Bearer`).
    pub access_token: String,
    /// Opaque refresh token; rotated on every refresh.
    pub refresh_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Access token lifetime in seconds (1800).
    pub expires_in: u64,
}

impl From<IssuedTokens> for AuthResponse {
    fn from(t: IssuedTokens) -> Self {
        AuthResponse {
            user: UserResponse::from(&t.user),
            access_token: t.access_token,
            refresh_token: t.refresh_token,
            token_type: "bearer",
            expires_in: t.expires_in,
        }
    }
}

/// Answer of `POST /auth/token` (OAuth2 shape plus extras).
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// JWT access token.
    pub access_token: String,
    /// Always `bearer`.
    pub token_type: &'static str,
    /// Refresh token.
    pub refresh_token: String,
    /// Lifetime in seconds.
    pub expires_in: u64,
}

/// Body of `PUT /users/me`; absent fields are left as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateMeRequest {
    /// New login name.
    pub username: Option<String>,
    /// New e-mail (needs `current_password`).
    pub email: Option<String>,
    /// New display name; `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub full_name: Option<Option<String>>,
    /// New password (needs `current_password`); ends every other session.
    pub password: Option<String>,
    /// The current password.
    pub current_password: Option<String>,
}

/// Answer of logout.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatusResponse {
    /// What happened, e.g. `logged_out`.
    pub status: &'static str,
}

/// Creates an account; the first one becomes admin.
#[utoipa::path(tag = "auth", operation_id = "register_user", security(()), request_body = RegisterRequest,
    responses((status = 201, description = "The account with a new access and refresh token pair", body = AuthResponse), (status = 409, body = ErrorResponse), (status = 403, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/auth/register")]
pub async fn register(
    app: web::Data<App>,
    body: ValidJson<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let tokens = call(&app, move |app| async move {
        app.register(Registration {
            username: b.username,
            email: b.email,
            password: b.password,
            confirm_password: b.confirm_password,
            full_name: b.full_name,
        })
        .await
    })
    .await?;
    Ok(HttpResponse::Created().json(AuthResponse::from(tokens)))
}

/// Signs in with a JSON body (username or e-mail).
#[utoipa::path(tag = "auth", operation_id = "login_user", security(()), request_body = LoginRequest,
    responses((status = 200, description = "The account with a new access and refresh token pair", body = AuthResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[post("/auth/login")]
pub async fn login(
    app: web::Data<App>,
    req: HttpRequest,
    body: ValidJson<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let Some(login) = b.username.or(b.email).filter(|l| !l.trim().is_empty()) else {
        return Err(ApiError(aihub_core::Error::validation(
            "username",
            "username or email is required",
        )));
    };
    let ip = client_ip(&req);
    let tokens = call(&app, move |app| async move {
        app.login(&login, &b.password, ip.as_deref()).await
    })
    .await?;
    Ok(HttpResponse::Ok().json(AuthResponse::from(tokens)))
}

/// OAuth2 password grant (form-encoded), used by Swagger UI's Authorize button.
#[utoipa::path(tag = "auth", operation_id = "issue_token", security(()), request_body(content = TokenForm, content_type = "application/x-www-form-urlencoded"),
    responses((status = 200, description = "An OAuth2 bearer token (the access token)", body = TokenResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse), (status = 429, body = ErrorResponse)))]
#[post("/auth/token")]
pub async fn token(
    app: web::Data<App>,
    req: HttpRequest,
    body: web::Bytes,
) -> ApiResult<HttpResponse> {
    crate::extract::refuse_nul_in_pairs(&body)?;
    let form: TokenForm = serde_urlencoded::from_bytes(&body).map_err(|e| {
        ApiError(aihub_core::Error::validation(
            "username",
            format!("invalid form: {e}"),
        ))
    })?;
    if let Some(grant) = form.grant_type.as_deref()
        && grant != "password"
    {
        return Err(ApiError(aihub_core::Error::validation(
            "grant_type",
            "grant_type must be `password`",
        )));
    }
    let ip = client_ip(&req);
    let t = call(&app, move |app| async move {
        app.login(&form.username, &form.password, ip.as_deref())
            .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(TokenResponse {
        access_token: t.access_token,
        token_type: "bearer",
        refresh_token: t.refresh_token,
        expires_in: t.expires_in,
    }))
}

/// Exchanges a refresh token for a new pair; reusing a rotated token revokes the session.
#[utoipa::path(tag = "auth", operation_id = "refresh_token", security(()), request_body = RefreshRequest,
    responses((status = 200, description = "The account with a new access and refresh token pair", body = AuthResponse), (status = 401, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[post("/auth/refresh")]
pub async fn refresh(
    app: web::Data<App>,
    body: ValidJson<RefreshRequest>,
) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(AuthResponse::from(
        call(&app, move |app| async move {
            app.refresh(&body.0.refresh_token).await
        })
        .await?,
    )))
}

/// Ends the current session.
#[utoipa::path(tag = "auth", operation_id = "logout_user", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "Logged out: the session's tokens are revoked", body = StatusResponse), (status = 401, body = ErrorResponse)))]
#[post("/auth/logout")]
pub async fn logout(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    call(&app, move |app| async move { app.logout(&user.0).await }).await?;
    Ok(HttpResponse::Ok().json(StatusResponse {
        status: "logged_out",
    }))
}

/// The caller's account.
#[utoipa::path(tag = "auth", operation_id = "get_current_user", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "The account", body = UserResponse), (status = 401, body = ErrorResponse)))]
#[get("/auth/me")]
pub async fn me(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(UserResponse::from(
        &call(&app, move |app| async move { app.me(&user.0).await }).await?,
    )))
}

/// The caller's account (the same as `GET /auth/me`).
#[utoipa::path(tag = "users", operation_id = "get_me", security(("bearer" = []), ("oauth2" = [])),
    responses((status = 200, description = "The account", body = UserResponse), (status = 401, body = ErrorResponse)))]
#[get("/users/me")]
pub async fn get_users_me(app: web::Data<App>, user: AuthUser) -> ApiResult<HttpResponse> {
    Ok(HttpResponse::Ok().json(UserResponse::from(
        &call(&app, move |app| async move { app.me(&user.0).await }).await?,
    )))
}

/// Updates the caller's profile or password.
#[utoipa::path(tag = "users", operation_id = "update_me", security(("bearer" = []), ("oauth2" = [])), request_body = UpdateMeRequest,
    responses((status = 200, description = "The account", body = UserResponse), (status = 401, body = ErrorResponse), (status = 409, body = ErrorResponse), (status = 422, body = ErrorResponse)))]
#[put("/users/me")]
pub async fn update_users_me(
    app: web::Data<App>,
    user: AuthUser,
    body: ValidJson<UpdateMeRequest>,
) -> ApiResult<HttpResponse> {
    let b = body.0;
    let row = call(&app, move |app| async move {
        app.update_me(
            &user.0,
            ProfileUpdate {
                username: b.username,
                email: b.email,
                full_name: b.full_name,
                password: b.password,
                current_password: b.current_password,
            },
        )
        .await
    })
    .await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(&row)))
}

/// Registers this module's routes (inside the `/api/v1` scope), in matching order.
pub(crate) fn routes(cfg: &mut ServiceConfig<'_>) {
    cfg.service(register)
        .service(login)
        .service(token)
        .service(refresh)
        .service(logout)
        .service(me)
        .service(get_users_me)
        .service(update_users_me);
}
