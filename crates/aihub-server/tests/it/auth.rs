//! Accounts and sessions: register,
//! login (JSON and OAuth2 form), access tokens, refresh rotation with reuse detection, logout,
//! profile and password changes, closed registration, login throttling.

use crate::http::{Reply, assert_error, key_set, keys, raw};
use aihub_testkit::{TEST_PASSWORD, TestApp, both_backends};
use serde_json::{Value, json};
use std::time::Duration;

const REGISTER: &str = "/api/v1/auth/register";
const LOGIN: &str = "/api/v1/auth/login";
const REFRESH: &str = "/api/v1/auth/refresh";
const LOGOUT: &str = "/api/v1/auth/logout";
const ME: &str = "/api/v1/auth/me";
const USERS_ME: &str = "/api/v1/users/me";

fn register_body(username: &str, email: &str, password: &str) -> Value {
    json!({
        "username": username,
        "email": email,
        "password": password,
        "confirm_password": password,
    })
}

fn login_body(login: &str, password: &str) -> Value {
    json!({"username": login, "password": password})
}

/// Asserts a 200/201 answer of register, login or refresh and returns its tokens.
fn assert_auth_reply(reply: &Reply, status: u16, username: &str, role: &str) -> (String, String) {
    let (s, body, _) = reply;
    assert_eq!(s.as_u16(), status, "{body}");
    assert_eq!(
        keys(body),
        key_set(&[
            "user",
            "access_token",
            "refresh_token",
            "token_type",
            "expires_in"
        ]),
        "{body}"
    );
    assert_user(&body["user"], username, role);
    assert_eq!(body["token_type"], "bearer");
    assert_eq!(body["expires_in"], 1800);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(access.split('.').count(), 3, "a JWT: {access}");
    assert!(refresh.len() >= 32, "{refresh}");
    assert_ne!(access, refresh);
    (access, refresh)
}

/// Asserts a user object has exactly the public fields.
fn assert_user(user: &Value, username: &str, role: &str) {
    assert_eq!(
        keys(user),
        key_set(&[
            "id",
            "username",
            "email",
            "full_name",
            "role",
            "is_active",
            "created_at",
            "updated_at"
        ]),
        "{user}"
    );
    assert!(user["id"].as_i64().is_some_and(|id| id > 0), "{user}");
    assert_eq!(user["username"], username, "{user}");
    assert_eq!(user["role"], role, "{user}");
    assert_eq!(user["is_active"], true, "{user}");
    for ts in ["created_at", "updated_at"] {
        let t = user[ts].as_str().unwrap();
        assert!(t.contains('T') && t.ends_with('Z'), "RFC 3339 UTC: {t}");
    }
}

/// `GET /auth/me` with `token` and asserts 200; returns the body.
async fn me_ok(app: &TestApp, token: &str) -> Value {
    let (status, body, _) = app.get(ME, Some(token)).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// `GET /auth/me` with `token` and asserts a 401 with `code`.
async fn me_refused(app: &TestApp, token: &str, code: &str) {
    let reply = app.get(ME, Some(token)).await;
    assert_error(&reply, 401, "authentication_error", code, None);
    assert_eq!(reply.2.get("www-authenticate").unwrap(), "Bearer");
}

// --- base64url (no padding), enough to take JWTs apart and forge some -----------------------

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn b64url(data: &[u8]) -> String {
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .chain(std::iter::repeat(&0))
            .take(3)
            .fold(0u32, |n, b| (n << 8) | u32::from(*b));
        for i in 0..=chunk.len() {
            out.push(char::from(B64[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

fn b64url_decode(s: &str) -> Vec<u8> {
    let (mut bits, mut n, mut out) = (0u32, 0u32, Vec::new());
    for c in s.bytes() {
        let v = B64.iter().position(|&x| x == c).expect("base64url digit");
        bits = ((bits << 6) | v as u32) & 0xffff;
        n += 6;
        if n >= 8 {
            n -= 8;
            out.push(((bits >> n) & 0xff) as u8);
        }
    }
    out
}

/// The claims of a JWT.
fn claims(jwt: &str) -> Value {
    serde_json::from_slice(&b64url_decode(jwt.split('.').nth(1).unwrap())).unwrap()
}

// --- register ---------------------------------------------------------------------------------

async fn register_returns_user_and_tokens(app: TestApp) {
    let mut body = register_body("alice", "Alice@Example.com", TEST_PASSWORD);
    body["full_name"] = json!("Alice Liddell");
    let reply = app.post(REGISTER, None, body).await;
    let (access, refresh) = assert_auth_reply(&reply, 201, "alice", "admin");
    let user = reply.1["user"].clone();
    assert_eq!(user["email"], "alice@example.com");
    assert_eq!(user["full_name"], "Alice Liddell");
    assert!(!request_id_of(&reply).is_empty());

    // The access token carries sub, sid, jti, iat, exp (30 minutes).
    let c = claims(&access);
    assert_eq!(c["sub"], user["id"].to_string());
    assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()), "{c}");
    assert!(c["sid"].is_i64(), "{c}");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        1800
    );

    // The token works, and /auth/me and /users/me answer the same account.
    assert_eq!(me_ok(&app, &access).await, user);
    let (status, body, _) = app.get(USERS_ME, Some(&access)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, user);

    // The second account is a plain user.
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("bob", "bob@example.com", TEST_PASSWORD),
        )
        .await;
    let (bob_access, bob_refresh) = assert_auth_reply(&reply, 201, "bob", "user");
    assert_eq!(reply.1["user"]["full_name"], Value::Null);
    assert_ne!(reply.1["user"]["id"], user["id"]);
    assert_ne!(bob_access, access);
    assert_ne!(bob_refresh, refresh);
    assert_eq!(me_ok(&app, &bob_access).await["username"], "bob");
}

fn request_id_of(reply: &Reply) -> String {
    crate::http::request_id(&reply.2)
}

async fn register_rejects_duplicates(app: TestApp) {
    app.register("alice").await;
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "other@example.com", TEST_PASSWORD),
        )
        .await;
    assert_error(&reply, 409, "conflict_error", "conflict", Some("username"));

    // E-mails are compared case-insensitively.
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice2", "ALICE@example.com", TEST_PASSWORD),
        )
        .await;
    assert_error(&reply, 409, "conflict_error", "conflict", Some("email"));

    // Neither attempt created an account.
    for login in ["alice2", "other@example.com"] {
        let reply = app
            .post(LOGIN, None, login_body(login, TEST_PASSWORD))
            .await;
        assert_error(
            &reply,
            401,
            "authentication_error",
            "invalid_credentials",
            None,
        );
    }
}

async fn register_password_limits(app: TestApp) {
    // 73 bytes is refused (bcrypt would silently truncate it).
    let long = "p".repeat(73);
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "a@example.com", &long),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("password"),
    );
    // Bytes count, not characters: 37 × "é" is 74 bytes.
    let accented = "é".repeat(37);
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "a@example.com", &accented),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("password"),
    );
    // Too short.
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "a@example.com", "short7!"),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("password"),
    );

    // Exactly 72 bytes is accepted, and logs in.
    let max = "p".repeat(72);
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "a@example.com", &max),
        )
        .await;
    let (access, _) = assert_auth_reply(&reply, 201, "alice", "admin");
    let reply = app.post(LOGIN, None, login_body("alice", &max)).await;
    assert_auth_reply(&reply, 200, "alice", "admin");
    // Never truncated: 72 right bytes plus one more do not log in, nor count as the current
    // password.
    let reply = app.post(LOGIN, None, login_body("alice", &long)).await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );
    let reply = app
        .put(
            USERS_ME,
            Some(&access),
            json!({"full_name": "A", "email": "b@example.com", "current_password": long}),
        )
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_credentials",
        Some("current_password"),
    );
    // A 72-byte new password is accepted by PUT /users/me as well.
    let other_max = "q".repeat(72);
    let (status, body, _) = app
        .put(
            USERS_ME,
            Some(&access),
            json!({"password": other_max, "current_password": max}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let reply = app.post(LOGIN, None, login_body("alice", &other_max)).await;
    assert_auth_reply(&reply, 200, "alice", "admin");
}

async fn register_validates_fields(app: TestApp) {
    let mut body = register_body("alice", "alice@example.com", TEST_PASSWORD);
    body["confirm_password"] = json!("something else");
    let reply = app.post(REGISTER, None, body).await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("confirm_password"),
    );

    for email in [
        "not-an-email",
        "alice@localhost",
        "@example.com",
        "al ice@example.com",
        "alice@.com",
    ] {
        let reply = app
            .post(REGISTER, None, register_body("alice", email, TEST_PASSWORD))
            .await;
        assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some("email"),
        );
    }

    let too_long = "u".repeat(51);
    for (username, says) in [
        ("a", "at least 3 characters"),
        ("al", "at least 3 characters"),
        ("  ", "must not be empty"),
        ("bad name", "only letters"),
        ("semi;colon", "only letters"),
        (too_long.as_str(), "at most 50"),
    ] {
        let reply = app
            .post(
                REGISTER,
                None,
                register_body(username, "alice@example.com", TEST_PASSWORD),
            )
            .await;
        let error = assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some("username"),
        );
        let message = error["message"].as_str().unwrap();
        assert!(message.contains(says), "{username:?}: {message}");
    }

    // None of the refused registrations created an account: the next one is the first (admin).
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("alice", "alice@example.com", TEST_PASSWORD),
        )
        .await;
    assert_auth_reply(&reply, 201, "alice", "admin");
}

async fn register_refuses_privileged_fields(app: TestApp) {
    app.register("alice").await;
    for (field, value) in [
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        ("is_active", json!(true)),
        ("id", json!(1)),
        ("user_id", json!(1)),
    ] {
        let mut body = register_body("bob", "bob@example.com", TEST_PASSWORD);
        body[field] = value;
        let reply = app.post(REGISTER, None, body).await;
        let error = assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some(field),
        );
        assert!(
            error["message"].as_str().unwrap().contains(field),
            "{error}"
        );
        // No account was created.
        let reply = app
            .post(LOGIN, None, login_body("bob", TEST_PASSWORD))
            .await;
        assert_eq!(reply.0, 401, "{}", reply.1);
    }
    // Registered normally, bob is a plain user.
    let reply = app
        .post(
            REGISTER,
            None,
            register_body("bob", "bob@example.com", TEST_PASSWORD),
        )
        .await;
    assert_auth_reply(&reply, 201, "bob", "user");
}

async fn registration_closed(app: TestApp) {
    let t = TestApp::start_with(app.backend, |c| c.allow_registration = false)
        .await
        .unwrap();
    // The very first account can always register, and is the admin.
    let reply = t
        .post(
            REGISTER,
            None,
            register_body("alice", "alice@example.com", TEST_PASSWORD),
        )
        .await;
    assert_auth_reply(&reply, 201, "alice", "admin");
    let reply = t
        .post(
            REGISTER,
            None,
            register_body("bob", "bob@example.com", TEST_PASSWORD),
        )
        .await;
    assert_error(&reply, 403, "permission_error", "registration_closed", None);
    let reply = t.post(LOGIN, None, login_body("bob", TEST_PASSWORD)).await;
    assert_eq!(reply.0, 401, "{}", reply.1);
    t.stop().await;
}

// --- login ------------------------------------------------------------------------------------

async fn login_by_username_and_email(app: TestApp) {
    let alice = app.register("alice").await;
    let by_name = app
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    let (a1, r1) = assert_auth_reply(&by_name, 200, "alice", "admin");
    assert_eq!(by_name.1["user"]["id"], alice.id);

    let by_email = app
        .post(
            LOGIN,
            None,
            json!({"email": "alice@example.com", "password": TEST_PASSWORD}),
        )
        .await;
    let (a2, r2) = assert_auth_reply(&by_email, 200, "alice", "admin");
    // Either field accepts either login.
    let email_in_username = app
        .post(LOGIN, None, login_body("alice@example.com", TEST_PASSWORD))
        .await;
    assert_auth_reply(&email_in_username, 200, "alice", "admin");

    // Each login is its own session with its own tokens; all of them work.
    assert_ne!(a1, a2);
    assert_ne!(r1, r2);
    assert_ne!(claims(&a1)["sid"], claims(&a2)["sid"]);
    for token in [&a1, &a2, &alice.access_token] {
        assert_eq!(me_ok(&app, token).await["id"], alice.id);
    }

    // Neither field given.
    let reply = app
        .post(LOGIN, None, json!({"password": TEST_PASSWORD}))
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("username"),
    );
    // Unknown field.
    let reply = app
        .post(
            LOGIN,
            None,
            json!({"username": "alice", "password": TEST_PASSWORD, "role": "admin"}),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("role"),
    );
}

async fn login_failures_look_the_same(app: TestApp) {
    app.register("alice").await;
    let wrong_password = app
        .post(LOGIN, None, login_body("alice", "not the password"))
        .await;
    let unknown_user = app
        .post(LOGIN, None, login_body("nobody", "not the password"))
        .await;
    let unknown_email = app
        .post(
            LOGIN,
            None,
            json!({"email": "nobody@example.com", "password": TEST_PASSWORD}),
        )
        .await;
    let a = assert_error(
        &wrong_password,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );
    let b = assert_error(
        &unknown_user,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );
    let c = assert_error(
        &unknown_email,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );
    // Identical bodies apart from the request id: nothing tells which accounts exist.
    assert_eq!(a, b);
    assert_eq!(a, c);
    for reply in [&wrong_password, &unknown_user, &unknown_email] {
        assert_eq!(reply.2.get("www-authenticate").unwrap(), "Bearer");
    }
}

async fn oauth2_token_form(app: TestApp) {
    let alice = app.register("alice").await;
    let form_ct = [("content-type", "application/x-www-form-urlencoded")];
    let form = |body: &str| Some(body.as_bytes().to_vec());
    let password = TEST_PASSWORD.replace(' ', "+");

    for body in [
        format!("username=alice&password={password}"),
        format!("grant_type=password&username=alice&password={password}&scope=&client_id=swagger"),
        format!("username=alice%40example.com&password={password}"),
    ] {
        let (status, reply, _) = raw(
            &app,
            reqwest::Method::POST,
            "/api/v1/auth/token",
            &form_ct,
            form(&body),
        )
        .await;
        assert_eq!(status, 200, "{reply}");
        assert_eq!(
            keys(&reply),
            key_set(&["access_token", "token_type", "refresh_token", "expires_in"])
        );
        assert_eq!(reply["token_type"], "bearer");
        assert_eq!(reply["expires_in"], 1800);
        let token = reply["access_token"].as_str().unwrap();
        assert_eq!(me_ok(&app, token).await["id"], alice.id);
    }

    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &form_ct,
        form("username=alice&password=wrong+password"),
    )
    .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );

    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &form_ct,
        form(&format!(
            "grant_type=client_credentials&username=alice&password={password}"
        )),
    )
    .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("grant_type"),
    );

    let reply = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &form_ct,
        form("username=alice"),
    )
    .await;
    assert_eq!(reply.0, 422, "{}", reply.1);
    assert_eq!(reply.1["error"]["type"], "invalid_request_error");
}

// --- access tokens ----------------------------------------------------------------------------

async fn bad_tokens_are_refused(app: TestApp) {
    let alice = app.register("alice").await;
    let bob = app.register("bob").await;

    for path in [ME, USERS_ME] {
        // No token, or not a bearer token.
        let reply = app.get(path, None).await;
        assert_error(&reply, 401, "authentication_error", "missing_token", None);
        assert_eq!(reply.2.get("www-authenticate").unwrap(), "Bearer");
        let basic = format!("Basic {}", b64url(b"alice:correct horse battery"));
        let reply = raw(
            &app,
            reqwest::Method::GET,
            path,
            &[("authorization", basic.as_str())],
            None,
        )
        .await;
        assert_error(&reply, 401, "authentication_error", "missing_token", None);
        let reply = raw(
            &app,
            reqwest::Method::GET,
            path,
            &[("authorization", "Bearer ")],
            None,
        )
        .await;
        assert_error(&reply, 401, "authentication_error", "missing_token", None);
    }

    // Garbage.
    for garbage in [
        "garbage",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9..",
        alice.refresh_token.as_str(),
    ] {
        me_refused(&app, garbage, "invalid_token").await;
    }

    // `alg: none` with alice's real claims and no signature.
    let parts: Vec<&str> = alice.access_token.split('.').collect();
    let none_header = b64url(br#"{"alg":"none","typ":"JWT"}"#);
    me_refused(
        &app,
        &format!("{none_header}.{}.", parts[1]),
        "invalid_token",
    )
    .await;
    me_refused(
        &app,
        &format!("{none_header}.{}.{}", parts[1], parts[2]),
        "invalid_token",
    )
    .await;
    // HS256 header but no signature.
    me_refused(
        &app,
        &format!("{}.{}.", parts[0], parts[1]),
        "invalid_token",
    )
    .await;

    // Claims changed to bob's id under alice's signature.
    let mut forged = claims(&alice.access_token);
    forged["sub"] = json!(bob.id.to_string());
    let forged_payload = b64url(forged.to_string().as_bytes());
    me_refused(
        &app,
        &format!("{}.{forged_payload}.{}", parts[0], parts[2]),
        "invalid_token",
    )
    .await;

    // A token signed with another deployment's secret (same user and session ids).
    let other = TestApp::start_with(app.backend, |c| {
        c.secret = "another-deployment-secret-0123456789abcdef-0123"
            .to_owned()
            .into();
    })
    .await
    .unwrap();
    let stranger = other.register("alice").await;
    assert_eq!(
        claims(&stranger.access_token)["sub"],
        json!(alice.id.to_string())
    );
    me_ok(&other, &stranger.access_token).await;
    me_refused(&app, &stranger.access_token, "invalid_token").await;
    other.stop().await;

    // The real tokens still work.
    assert_eq!(me_ok(&app, &alice.access_token).await["username"], "alice");
    assert_eq!(me_ok(&app, &bob.access_token).await["username"], "bob");
}

async fn expired_token_is_refused(app: TestApp) {
    let t = TestApp::start_with(app.backend, |c| {
        c.access_token_ttl = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let (status, body, _) = t
        .post(
            REGISTER,
            None,
            register_body("alice", "alice@example.com", TEST_PASSWORD),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["expires_in"], 1);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    me_refused(&t, &access, "token_expired").await;
    let reply = t.get(USERS_ME, Some(&access)).await;
    assert_error(&reply, 401, "authentication_error", "token_expired", None);

    // The session itself is still open: the refresh token gives a fresh access token.
    let (status, body, _) = t
        .post(REFRESH, None, json!({"refresh_token": refresh}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["expires_in"], 1);
    t.stop().await;
}

// --- refresh and logout -----------------------------------------------------------------------

async fn refresh_rotates_and_detects_reuse(app: TestApp) {
    let alice = app.register("alice").await;
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": alice.refresh_token}))
        .await;
    let (access2, refresh2) = assert_auth_reply(&reply, 200, "alice", "admin");
    assert_ne!(access2, alice.access_token);
    assert_ne!(refresh2, alice.refresh_token);
    // Same session.
    assert_eq!(claims(&access2)["sid"], claims(&alice.access_token)["sid"]);
    // The old access token keeps working until it expires; the new one works too.
    me_ok(&app, &alice.access_token).await;
    me_ok(&app, &access2).await;

    // The new refresh token rotates again.
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": refresh2}))
        .await;
    let (access3, refresh3) = assert_auth_reply(&reply, 200, "alice", "admin");

    // Presenting a rotated token again: 401, and the whole session is revoked.
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": alice.refresh_token}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": refresh3}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    for token in [&alice.access_token, &access2, &access3] {
        me_refused(&app, token, "invalid_token").await;
    }
    // Logging in again opens a fresh session.
    let reply = app
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    let (fresh, _) = assert_auth_reply(&reply, 200, "alice", "admin");
    me_ok(&app, &fresh).await;

    // Unknown and malformed refresh tokens.
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": "not-a-token"}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": fresh}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    let reply = app.post(REFRESH, None, json!({})).await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("refresh_token"),
    );
}

async fn logout_revokes_the_session(app: TestApp) {
    let alice = app.register("alice").await;
    let reply = app
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    let (other_access, other_refresh) = assert_auth_reply(&reply, 200, "alice", "admin");

    let (status, body, _) = app.post(LOGOUT, Some(&alice.access_token), json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"status": "logged_out"}));

    me_refused(&app, &alice.access_token, "invalid_token").await;
    let reply = app.get(USERS_ME, Some(&alice.access_token)).await;
    assert_error(&reply, 401, "authentication_error", "invalid_token", None);
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": alice.refresh_token}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    // Logging out again with the dead token is refused.
    let reply = app.post(LOGOUT, Some(&alice.access_token), json!({})).await;
    assert_error(&reply, 401, "authentication_error", "invalid_token", None);
    // Without a token.
    let reply = app.post(LOGOUT, None, json!({})).await;
    assert_error(&reply, 401, "authentication_error", "missing_token", None);

    // The other session is untouched.
    me_ok(&app, &other_access).await;
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": other_refresh}))
        .await;
    assert_auth_reply(&reply, 200, "alice", "admin");
}

// --- profile and password ---------------------------------------------------------------------

async fn update_profile(app: TestApp) {
    app.register("alice").await;
    let bob = app.register("bob").await;
    let t = Some(bob.access_token.as_str());

    let (status, body, _) = app
        .put(USERS_ME, t, json!({"full_name": "Bob Builder"}))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_user(&body, "bob", "user");
    assert_eq!(body["full_name"], "Bob Builder");
    assert_eq!(body["email"], "bob@example.com");
    let (_, me, _) = app.get(USERS_ME, t).await;
    assert_eq!(me, body);

    // `null` clears it; an absent field is left as it is.
    let (status, body, _) = app.put(USERS_ME, t, json!({"full_name": null})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["full_name"], Value::Null);
    let (status, body, _) = app.put(USERS_ME, t, json!({})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["full_name"], Value::Null);
    assert_eq!(body["username"], "bob");

    // Privileged fields are refused, and nothing changes.
    for (field, value) in [
        ("role", json!("admin")),
        ("is_admin", json!(true)),
        ("is_active", json!(true)),
        ("id", json!(1)),
    ] {
        let mut body = json!({"full_name": "Mallory"});
        body[field] = value;
        let reply = app.put(USERS_ME, t, body).await;
        assert_error(
            &reply,
            422,
            "invalid_request_error",
            "validation_error",
            Some(field),
        );
    }
    let (_, me, _) = app.get(USERS_ME, t).await;
    assert_user(&me, "bob", "user");
    assert_eq!(me["full_name"], Value::Null);

    // A taken username.
    let reply = app.put(USERS_ME, t, json!({"username": "alice"})).await;
    assert_error(&reply, 409, "conflict_error", "conflict", Some("username"));
    // Changing the e-mail needs the current password.
    let reply = app
        .put(USERS_ME, t, json!({"email": "robert@example.com"}))
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("current_password"),
    );
    let (status, body, _) = app
        .put(
            USERS_ME,
            t,
            json!({"email": "robert@example.com", "current_password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["email"], "robert@example.com");
}

async fn password_change(app: TestApp) {
    let alice = app.register("alice").await;
    let reply = app
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    let (other_access, other_refresh) = assert_auth_reply(&reply, 200, "alice", "admin");
    let t = Some(alice.access_token.as_str());
    let new_password = "a brand new password";

    let reply = app
        .put(USERS_ME, t, json!({"password": new_password}))
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("current_password"),
    );
    let reply = app
        .put(
            USERS_ME,
            t,
            json!({"password": new_password, "current_password": "not the password"}),
        )
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_credentials",
        Some("current_password"),
    );
    // Neither attempt changed anything: the other session still works.
    me_ok(&app, &other_access).await;
    // A new password over 72 bytes is refused.
    let reply = app
        .put(
            USERS_ME,
            t,
            json!({"password": "p".repeat(73), "current_password": TEST_PASSWORD}),
        )
        .await;
    assert_error(
        &reply,
        422,
        "invalid_request_error",
        "validation_error",
        Some("password"),
    );

    let (status, body, _) = app
        .put(
            USERS_ME,
            t,
            json!({"password": new_password, "current_password": TEST_PASSWORD}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_user(&body, "alice", "admin");

    // Every other session is over; the caller's keeps working.
    me_refused(&app, &other_access, "invalid_token").await;
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": other_refresh}))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_refresh_token",
        None,
    );
    me_ok(&app, &alice.access_token).await;
    let reply = app
        .post(REFRESH, None, json!({"refresh_token": alice.refresh_token}))
        .await;
    assert_auth_reply(&reply, 200, "alice", "admin");

    // The new password logs in, the old one does not.
    let reply = app
        .post(LOGIN, None, login_body("alice", new_password))
        .await;
    assert_auth_reply(&reply, 200, "alice", "admin");
    let reply = app
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    assert_error(
        &reply,
        401,
        "authentication_error",
        "invalid_credentials",
        None,
    );
}

// --- throttling -------------------------------------------------------------------------------

async fn login_throttling(app: TestApp) {
    let t = TestApp::start_with(app.backend, |c| c.login_max_failures = 3)
        .await
        .unwrap();
    t.register("alice").await;
    t.register("bob").await;
    for _ in 0..3 {
        let reply = t
            .post(LOGIN, None, login_body("alice", "not the password"))
            .await;
        assert_error(
            &reply,
            401,
            "authentication_error",
            "invalid_credentials",
            None,
        );
    }
    // The next attempt is refused even with the right password.
    let reply = t
        .post(LOGIN, None, login_body("alice", TEST_PASSWORD))
        .await;
    assert_error(&reply, 429, "rate_limit_error", "rate_limit_exceeded", None);
    let retry_after: u64 = reply
        .2
        .get("retry-after")
        .expect("Retry-After on 429")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    // By e-mail and through the OAuth2 form as well (the same account).
    let reply = t
        .post(
            LOGIN,
            None,
            json!({"email": "ALICE@example.com", "password": TEST_PASSWORD}),
        )
        .await;
    assert_error(&reply, 429, "rate_limit_error", "rate_limit_exceeded", None);
    let password = TEST_PASSWORD.replace(' ', "+");
    let reply = raw(
        &t,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        &[("content-type", "application/x-www-form-urlencoded")],
        Some(format!("username=alice&password={password}").into_bytes()),
    )
    .await;
    assert_error(&reply, 429, "rate_limit_error", "rate_limit_exceeded", None);
    // The client address is throttled too (all failures came from 127.0.0.1).
    let reply = t.post(LOGIN, None, login_body("bob", TEST_PASSWORD)).await;
    assert_error(&reply, 429, "rate_limit_error", "rate_limit_exceeded", None);
    // Sessions that already exist are not affected.
    let reply = t
        .post(
            REGISTER,
            None,
            register_body("carol", "carol@example.com", TEST_PASSWORD),
        )
        .await;
    let (carol, _) = assert_auth_reply(&reply, 201, "carol", "user");
    me_ok(&t, &carol).await;
    t.stop().await;
}

both_backends!(
    register_returns_user_and_tokens,
    register_rejects_duplicates,
    register_password_limits,
    register_validates_fields,
    register_refuses_privileged_fields,
    registration_closed,
    login_by_username_and_email,
    login_failures_look_the_same,
    oauth2_token_form,
    bad_tokens_are_refused,
    expired_token_is_refused,
    refresh_rotates_and_detects_reuse,
    logout_revokes_the_session,
    update_profile,
    password_change,
    login_throttling,
);
