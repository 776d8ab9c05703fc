//! Accounts and sessions: registration, login, JWT access tokens, rotating refresh tokens,
//! logout, profile changes.
//!
//! An access token is an HS256 JWT (`sub`, `sid`, `jti`, `iat`, `exp`) valid for 30 minutes;
//! every request re-checks its session (`sid`) is open and its account active, so logout,
//! password change and deactivation take effect at once. Refresh tokens are 32 random bytes,
//! stored as SHA-256, rotated on use; presenting a rotated one revokes the whole session.

use crate::crypto::{random_token, sha256_hex};
use crate::{App, Error, Result, validate};
use aihub_domain::{ErrorCode, Id, Role, time};
use aihub_store::users::{NewUser, UserChanges, UserRow};
use aihub_store::{sessions, users};
use chrono::NaiveDateTime;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// bcrypt's input limit; longer passwords are refused, never truncated.
pub const MAX_PASSWORD_BYTES: usize = 72;
/// Shortest accepted password, in characters.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// The authenticated caller of a management request.
#[derive(Debug, Clone, PartialEq)]
pub struct CurrentUser {
    /// Account id.
    pub id: Id,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// The session the access token belongs to.
    pub session_id: Id,
}

impl CurrentUser {
    /// Whether the caller is an admin.
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }
}

/// Input of `POST /auth/register`.
#[derive(Debug, Clone)]
pub struct Registration {
    /// Login name: 3–50 of letters, digits, `_`, `-`, `.`.
    pub username: String,
    /// E-mail address.
    pub email: String,
    /// Password, 8 characters to 72 bytes.
    pub password: String,
    /// Must equal `password` when given.
    pub confirm_password: Option<String>,
    /// Display name.
    pub full_name: Option<String>,
}

/// An account as callers of core see it (never its password hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Id.
    pub id: Id,
    /// Unique login name: 3–50 of letters, digits, `_`, `-`, `.`.
    pub username: String,
    /// Unique e-mail address, lower-case.
    pub email: String,
    /// Display name.
    pub full_name: Option<String>,
    /// Role.
    pub role: Role,
    /// False when deactivated: every token of the account stops working.
    pub is_active: bool,
    /// Creation time (UTC).
    pub created_at: NaiveDateTime,
    /// Last change (UTC).
    pub updated_at: NaiveDateTime,
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> Self {
        User {
            role: Role::parse(&u.role),
            id: u.id,
            username: u.username,
            email: u.email,
            full_name: u.full_name,
            is_active: u.is_active,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

/// A freshly issued token pair and the account it belongs to.
#[derive(Debug, Clone)]
pub struct IssuedTokens {
    /// The account.
    pub user: User,
    /// JWT access token.
    pub access_token: String,
    /// Opaque refresh token (shown once).
    pub refresh_token: String,
    /// Access token lifetime in seconds.
    pub expires_in: u64,
}

/// Input of `PUT /users/me`; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ProfileUpdate {
    /// New login name.
    pub username: Option<String>,
    /// New e-mail.
    pub email: Option<String>,
    /// New display name (`Some(None)` clears it).
    pub full_name: Option<Option<String>>,
    /// New password; needs `current_password`.
    pub password: Option<String>,
    /// The current password, required to change the password or e-mail.
    pub current_password: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    sid: Id,
    jti: String,
    iat: i64,
    exp: i64,
}

/// Signing and verification keys for access tokens, derived from the deployment secret.
pub(crate) struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl JwtKeys {
    pub(crate) fn new(secret: &secrecy::SecretString) -> Self {
        let key = crate::crypto::derive_key(secret, "jwt-hs256:v1");
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp", "iat", "sub"]);
        JwtKeys {
            encoding: EncodingKey::from_secret(&key),
            decoding: DecodingKey::from_secret(&key),
            validation,
        }
    }
}

/// Counts failed logins per account and per client address within a window.
#[derive(Default)]
pub(crate) struct LoginThrottle {
    failures: Mutex<HashMap<String, (u32, Instant)>>,
}

impl LoginThrottle {
    fn check(&self, keys: &[String], max: u32, window: Duration) -> Result<()> {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        for key in keys {
            if let Some((count, since)) = map.get(key)
                && *count >= max
                && since.elapsed() < window
            {
                let retry = window.saturating_sub(since.elapsed());
                return Err(Error {
                    retry_after: Some(retry),
                    ..Error::new(
                        ErrorCode::RateLimitExceeded,
                        "too many failed logins; try again later",
                    )
                });
            }
        }
        Ok(())
    }

    fn fail(&self, keys: &[String], window: Duration) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() > 100_000 {
            map.retain(|_, (_, since)| since.elapsed() < window);
        }
        for key in keys {
            let e = map.entry(key.clone()).or_insert((0, Instant::now()));
            if e.1.elapsed() >= window {
                *e = (0, Instant::now());
            }
            e.0 += 1;
        }
    }

    fn succeed(&self, account_key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(account_key);
    }
}

/// A unique violation on `users` as a 409 naming the field.
fn taken(e: aihub_store::StoreError) -> Error {
    match e {
        aihub_store::StoreError::UniqueViolation(what) => {
            let field = if what.contains("email") {
                "email"
            } else {
                "username"
            };
            Error {
                param: Some(field.into()),
                ..Error::new(ErrorCode::Conflict, format!("{field} is already taken"))
            }
        }
        other => other.into(),
    }
}

fn valid_username(u: &str) -> Result<String> {
    let u = validate::text("username", u, 3, 50)?;
    if !u
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
    {
        return Err(Error::validation(
            "username",
            "username may contain only letters, digits, _ - .",
        ));
    }
    Ok(u)
}

fn valid_email(e: &str) -> Result<String> {
    let e = validate::text("email", e, 3, 254)?.to_lowercase();
    let ok = match e.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !e.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !ok {
        return Err(Error::validation("email", "email is not a valid address"));
    }
    Ok(e)
}

fn valid_password(field: &str, p: &str) -> Result<()> {
    if p.len() > MAX_PASSWORD_BYTES {
        return Err(Error::validation(
            field,
            format!("{field} must be at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    if p.chars().count() < MIN_PASSWORD_CHARS {
        return Err(Error::validation(
            field,
            format!("{field} must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    Ok(())
}

async fn hash_password(password: String, cost: u32) -> Result<String> {
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(Error::internal)?
        .map_err(Error::internal)
}

async fn verify_password(password: String, hash: String) -> bool {
    tokio::task::spawn_blocking(move || {
        password.len() <= MAX_PASSWORD_BYTES && bcrypt::verify(password, &hash).unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

impl App {
    /// Creates an account and signs it in. The first account becomes `admin`.
    ///
    /// # Errors
    /// `registration_closed` when registration is off (except for the very first account);
    /// `validation_error` naming the field; `conflict` for a taken username or e-mail.
    pub async fn register(&self, input: Registration) -> Result<IssuedTokens> {
        if !self.config().allow_registration && self.user_count().await? > 0 {
            return Err(Error::new(
                ErrorCode::RegistrationClosed,
                "registration is closed",
            ));
        }
        let user = self.create_account(input, Role::User).await?;
        self.open_session(user).await
    }

    /// Creates an account without signing it in (`aihub user create`). The first account
    /// ever created is an admin whatever `role` says.
    ///
    /// # Errors
    /// `validation_error` naming the field; `conflict` for a taken username or e-mail.
    pub async fn create_account(&self, input: Registration, role: Role) -> Result<User> {
        let username = valid_username(&input.username)?;
        let email = valid_email(&input.email)?;
        valid_password("password", &input.password)?;
        if let Some(confirm) = &input.confirm_password
            && confirm != &input.password
        {
            return Err(Error::validation(
                "confirm_password",
                "passwords do not match",
            ));
        }
        let full_name = match input.full_name.as_deref() {
            Some(n) => Some(validate::text("full_name", n, 0, 100)?),
            None => None,
        };
        let hash = hash_password(input.password, self.config().bcrypt_cost).await?;
        let now = time::now();
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let new = NewUser {
            username: &username,
            email: &email,
            full_name: full_name.as_deref().filter(|n| !n.is_empty()),
            password_hash: &hash,
            role: role.as_str(),
            is_active: true,
            created_at: now,
            updated_at: now,
        };
        users::insert(&mut conn, &new)
            .await
            .map(User::from)
            .map_err(taken)
    }

    async fn user_count(&self) -> Result<i64> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(users::count(&mut conn).await?)
    }

    /// Signs in by username or e-mail. Unknown accounts cost the same bcrypt work as a wrong
    /// password. Failures are throttled per account and per client address.
    ///
    /// # Errors
    /// `invalid_credentials`; `account_disabled`; `rate_limit_exceeded` after too many failures.
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        client_ip: Option<&str>,
    ) -> Result<IssuedTokens> {
        let account_key = format!("account:{}", login.trim().to_lowercase());
        let mut keys = vec![account_key.clone()];
        if let Some(ip) = client_ip {
            keys.push(format!("ip:{ip}"));
        }
        let cfg = self.config();
        self.inner
            .login_throttle
            .check(&keys, cfg.login_max_failures, cfg.login_window)?;
        let found = if password.len() > MAX_PASSWORD_BYTES {
            None
        } else {
            let mut pooled = self.db().get().await?;
            let mut conn = pooled.conn();
            users::find_by_login(&mut conn, login.trim()).await?
        };
        let (ok, user) = match found {
            Some(user) => (
                verify_password(password.to_owned(), user.password_hash.clone()).await,
                Some(user),
            ),
            None => {
                // Same bcrypt work as a real check, so response time does not reveal accounts.
                verify_password(password.to_owned(), self.inner.dummy_hash.clone()).await;
                (false, None)
            }
        };
        let Some(user) = user.filter(|_| ok) else {
            self.inner.login_throttle.fail(&keys, cfg.login_window);
            return Err(Error::new(
                ErrorCode::InvalidCredentials,
                "incorrect username or password",
            ));
        };
        if !user.is_active {
            return Err(Error::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        self.inner.login_throttle.succeed(&account_key);
        self.open_session(user.into()).await
    }

    async fn open_session(&self, user: User) -> Result<IssuedTokens> {
        let now = time::now();
        let expires = now
            + chrono::Duration::from_std(self.config().refresh_token_ttl)
                .map_err(Error::internal)?;
        let refresh = random_token(32);
        let hash = sha256_hex(&refresh);
        let user_id = user.id;
        let session = self
            .db()
            .transaction::<_, Error, _>(move |mut tx| {
                Box::pin(async move {
                    let s = sessions::create(&mut tx, user_id, now, expires).await?;
                    sessions::add_refresh_token(&mut tx, s.id, &hash, now).await?;
                    Ok(s)
                })
            })
            .await?;
        let access_token = self.issue_access_token(user.id, session.id)?;
        Ok(IssuedTokens {
            user,
            access_token,
            refresh_token: refresh,
            expires_in: self.config().access_token_ttl.as_secs(),
        })
    }

    fn issue_access_token(&self, user_id: Id, session_id: Id) -> Result<String> {
        let iat = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: user_id.to_string(),
            sid: session_id,
            jti: random_token(16),
            iat,
            exp: iat + self.config().access_token_ttl.as_secs() as i64,
        };
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &self.inner.jwt.encoding,
        )
        .map_err(Error::internal)
    }

    /// Resolves an access token to its caller: signature, expiry, open session, active account.
    ///
    /// # Errors
    /// `token_expired`; `invalid_token` for anything else wrong (bad signature, `alg: none`,
    /// revoked session, deactivated account).
    pub async fn authenticate(&self, token: &str) -> Result<CurrentUser> {
        let (user_id, session_id) = self.verify_access_token(token)?;
        if let Some(user) = self.inner.sessions.get(user_id, session_id) {
            return Ok(user);
        }
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let user = sessions::active_user(&mut conn, session_id, user_id, time::now())
            .await?
            .ok_or_else(|| Error::new(ErrorCode::InvalidToken, "session is no longer valid"))?;
        let current = CurrentUser {
            id: user.id,
            username: user.username,
            role: Role::parse(&user.role),
            session_id,
        };
        self.inner.sessions.put(&current);
        Ok(current)
    }

    /// [`App::authenticate`] without the database: the caller of a session checked within
    /// `session_cache_ttl`, or `Ok(None)` when the session must be read (call
    /// [`App::authenticate`] on the app runtime then).
    ///
    /// # Errors
    /// As [`App::authenticate`], for the token itself.
    pub fn authenticate_cached(&self, token: &str) -> Result<Option<CurrentUser>> {
        let (user_id, session_id) = self.verify_access_token(token)?;
        Ok(self.inner.sessions.get(user_id, session_id))
    }

    /// Checks an access token's signature and expiry; returns its user and session ids.
    fn verify_access_token(&self, token: &str) -> Result<(Id, Id)> {
        let data = jsonwebtoken::decode::<Claims>(
            token,
            &self.inner.jwt.decoding,
            &self.inner.jwt.validation,
        )
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                Error::new(ErrorCode::TokenExpired, "access token expired")
            }
            _ => Error::new(ErrorCode::InvalidToken, "invalid access token"),
        })?;
        let user_id: Id = data
            .claims
            .sub
            .parse()
            .map_err(|_| Error::new(ErrorCode::InvalidToken, "invalid access token"))?;
        Ok((user_id, data.claims.sid))
    }

    /// Forgets every checked session of `user_id` on this process (the account was
    /// deactivated or its password changed): its next request reads the session again.
    pub fn invalidate_user_sessions(&self, user_id: Id) {
        self.inner.sessions.forget_user(user_id);
    }

    /// Exchanges a refresh token for a new pair (rotation). Presenting a token that was
    /// already rotated revokes its session: someone else holds a copy.
    ///
    /// # Errors
    /// `invalid_refresh_token` for unknown, expired, revoked or reused tokens;
    /// `account_disabled`.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedTokens> {
        let invalid = || Error::new(ErrorCode::InvalidRefreshToken, "invalid refresh token");
        let now = time::now();
        let hash = sha256_hex(refresh_token.trim());
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let (token, session) = sessions::find_refresh_token(&mut conn, &hash)
            .await?
            .ok_or_else(invalid)?;
        if session.revoked_at.is_some() || session.expires_at <= now {
            return Err(invalid());
        }
        let first_use = token.used_at.is_none()
            && sessions::mark_refresh_token_used(&mut conn, token.id, now).await?;
        if !first_use {
            tracing::warn!(
                session_id = session.id,
                "refresh token reuse detected; session revoked"
            );
            sessions::revoke(&mut conn, session.id, now).await?;
            self.inner.sessions.forget(session.id);
            return Err(Error::new(
                ErrorCode::InvalidRefreshToken,
                "refresh token was already used; session revoked",
            ));
        }
        let user = users::find(&mut conn, session.user_id).await?;
        if !user.is_active {
            return Err(Error::new(
                ErrorCode::AccountDisabled,
                "this account is disabled",
            ));
        }
        let next = random_token(32);
        sessions::add_refresh_token(&mut conn, session.id, &sha256_hex(&next), now).await?;
        drop(pooled);
        let access_token = self.issue_access_token(user.id, session.id)?;
        Ok(IssuedTokens {
            user: user.into(),
            access_token,
            refresh_token: next,
            expires_in: self.config().access_token_ttl.as_secs(),
        })
    }

    /// Ends the caller's session: its access and refresh tokens stop working.
    ///
    /// # Errors
    /// Database failures only.
    pub async fn logout(&self, user: &CurrentUser) -> Result<()> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        sessions::revoke(&mut conn, user.session_id, time::now()).await?;
        self.inner.sessions.forget(user.session_id);
        Ok(())
    }

    /// The caller's account.
    ///
    /// # Errors
    /// `not_found` if it was deleted meanwhile.
    pub async fn me(&self, user: &CurrentUser) -> Result<User> {
        Ok(self.account(user).await?.into())
    }

    /// The caller's stored account, password hash included.
    async fn account(&self, user: &CurrentUser) -> Result<UserRow> {
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        Ok(users::find(&mut conn, user.id).await?)
    }

    /// Updates the caller's profile. Changing the password or e-mail needs the current
    /// password; a password change ends every other session of the account.
    ///
    /// # Errors
    /// `validation_error` naming the field; `invalid_credentials` for a wrong current
    /// password; `conflict` for a taken username or e-mail.
    pub async fn update_me(&self, user: &CurrentUser, update: ProfileUpdate) -> Result<User> {
        let current = self.account(user).await?;
        let username = update.username.as_deref().map(valid_username).transpose()?;
        let email = update.email.as_deref().map(valid_email).transpose()?;
        let full_name = match &update.full_name {
            Some(Some(n)) => Some(Some(validate::text("full_name", n, 0, 100)?)),
            Some(None) => Some(None),
            None => None,
        };
        let sensitive =
            update.password.is_some() || email.as_ref().is_some_and(|e| *e != current.email);
        if sensitive {
            let Some(given) = update.current_password.clone() else {
                return Err(Error::validation(
                    "current_password",
                    "current_password is required to change password or email",
                ));
            };
            if !verify_password(given, current.password_hash.clone()).await {
                return Err(Error {
                    param: Some("current_password".into()),
                    ..Error::new(
                        ErrorCode::InvalidCredentials,
                        "current password is incorrect",
                    )
                });
            }
        }
        let new_hash = match &update.password {
            Some(p) => {
                valid_password("password", p)?;
                Some(hash_password(p.clone(), self.config().bcrypt_cost).await?)
            }
            None => None,
        };
        let now = time::now();
        let changes = UserChanges {
            username: username.as_deref(),
            email: email.as_deref(),
            full_name: full_name
                .as_ref()
                .map(|n| n.as_deref().filter(|s| !s.is_empty())),
            password_hash: new_hash.as_deref(),
            updated_at: Some(now),
            ..UserChanges::default()
        };
        let mut pooled = self.db().get().await?;
        let mut conn = pooled.conn();
        let row = users::update(&mut conn, user.id, &changes)
            .await
            .map_err(taken)?;
        if new_hash.is_some() {
            sessions::revoke_all_for_user(&mut conn, user.id, Some(user.session_id), now).await?;
            self.invalidate_user_sessions(user.id);
            // Cached developer keys re-read their owner on their next request.
            self.invalidate_user_keys(user.id);
        }
        Ok(row.into())
    }
}

/// Sessions checked recently: session id → the caller, for `session_cache_ttl`. Saves the
/// session query on every JWT request; dropped at once on logout, refresh-token reuse and
/// password change (this process), and after the TTL elsewhere.
pub(crate) struct SessionCache {
    entries: moka::sync::Cache<Id, CurrentUser>,
}

impl SessionCache {
    pub(crate) fn new(ttl: Duration) -> Self {
        SessionCache {
            entries: moka::sync::Cache::builder()
                .max_capacity(100_000)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
        }
    }

    fn get(&self, user_id: Id, session_id: Id) -> Option<CurrentUser> {
        self.entries.get(&session_id).filter(|u| u.id == user_id)
    }

    fn put(&self, user: &CurrentUser) {
        self.entries.insert(user.session_id, user.clone());
    }

    fn forget(&self, session_id: Id) {
        self.entries.invalidate(&session_id);
    }

    fn forget_user(&self, user_id: Id) {
        // Only fails when closures are not supported, which the builder enables.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, u| u.id == user_id);
    }
}
