//! Sign-in, sessions, CSRF, API tokens, throttling and password change, over real HTTP.

mod common;

use common::{Browser, TestServer, problem, problem_type};
use reqwest::Method;
use serde_json::json;

async fn me_status(s: &TestServer, b: &Browser) -> u16 {
    s.as_browser(b, Method::GET, "/api/me").send().await.expect("me").status().as_u16()
}

#[tokio::test]
async fn login_sets_a_strict_httponly_cookie_and_me_shows_the_user() {
    let s = common::start().await;
    let resp = s.try_login("admin", "demoadmin").await;
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(cookie.starts_with("hl_session="), "{cookie}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(flag), "{cookie} lacks {flag}");
    }
    assert!(!cookie.contains("Secure"), "not configured: {cookie}");
    let b = s.admin().await;
    let me = common::json(s.as_browser(&b, Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!(me["user"]["username"], "admin");
    assert_eq!(me["user"]["role"], "admin");
    assert_eq!(me["csrf_token"], b.csrf.as_str());
    assert!(me["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn cookie_is_secure_when_configured() {
    let mut config = common::config();
    config.secure_cookies = true;
    let s = common::start_with(config).await;
    let resp = s.try_login("1001", "demo1001").await;
    assert!(resp.headers()["set-cookie"].to_str().expect("ascii").contains("; Secure"));
}

#[tokio::test]
async fn me_shows_an_agent_their_agent_record() {
    let s = common::start().await;
    let b = s.agent("1003").await;
    let me = common::json(s.as_browser(&b, Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!(me["agent"]["extension"], "1003");
}

#[tokio::test]
async fn wrong_password_and_unknown_user_get_the_same_problem() {
    let s = common::start().await;
    let (status, wrong) = problem(s.try_login("admin", "nope-nope").await).await;
    assert_eq!(status, 401);
    assert_eq!(wrong["type"], problem_type("invalid-credentials"));
    let (_, unknown) = problem(s.try_login("nobody", "nope-nope").await).await;
    assert_eq!(wrong, unknown);
}

#[tokio::test]
async fn anonymous_calls_are_unauthenticated_problems() {
    let s = common::start().await;
    let (status, p) = problem(s.anon(Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!(status, 401);
    assert_eq!(p["type"], problem_type("unauthenticated"));
}

#[tokio::test]
async fn logout_ends_the_session() {
    let s = common::start().await;
    let b = s.supervisor().await;
    let out = s.as_browser(&b, Method::POST, "/api/auth/logout").send().await.expect("logout");
    assert_eq!(out.status(), 204);
    assert!(out.headers()["set-cookie"].to_str().expect("ascii").contains("Max-Age=0"));
    let (status, p) = problem(s.as_browser(&b, Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!(status, 401);
    assert_eq!(p["detail"], "your session has ended; sign in again");
}

#[tokio::test]
async fn session_expires_after_the_idle_timeout() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    s.clock.advance_ms(29 * 60_000);
    assert_eq!(me_status(&s, &b).await, 200, "used within 30 minutes");
    s.clock.advance_ms(29 * 60_000);
    assert_eq!(me_status(&s, &b).await, 200, "the last use restarted the idle period");
    s.clock.advance_ms(30 * 60_000);
    assert_eq!(me_status(&s, &b).await, 401);
}

#[tokio::test]
async fn busy_session_still_ends_at_its_absolute_lifetime() {
    let s = common::start().await;
    let b = s.agent("1001").await;
    for _ in 0..24 {
        s.clock.advance_ms(29 * 60_000);
        assert_eq!(me_status(&s, &b).await, 200);
    }
    s.clock.advance_ms(29 * 60_000);
    assert_eq!(me_status(&s, &b).await, 401, "12 hours after sign-in");
}

#[tokio::test]
async fn garbage_session_cookie_is_unauthenticated_not_an_error() {
    let s = common::start().await;
    for cookie in ["hl_session=", "hl_session=zzz", "hl_session=../../etc", "other=1; hl_session=%00"] {
        let resp = s.anon(Method::GET, "/api/me").header("cookie", cookie).send().await.expect("me");
        let (status, p) = problem(resp).await;
        assert_eq!((status, p["type"].as_str()), (401, Some(problem_type("unauthenticated").as_str())), "{cookie}");
    }
}

#[tokio::test]
async fn failed_logins_are_throttled_per_username_until_the_window_ends() {
    let s = common::start().await;
    for _ in 0..5 {
        assert_eq!(s.try_login("supervisor", "guess-guess").await.status(), 401);
    }
    let resp = s.try_login("supervisor", "demosuper").await;
    assert!(resp.headers().contains_key("retry-after"));
    let (status, p) = problem(resp).await;
    assert_eq!(status, 429, "even the right password is refused while locked");
    assert_eq!(p["type"], problem_type("rate-limited"));
    assert_eq!(s.try_login("admin", "demoadmin").await.status(), 200, "other usernames are not locked");
    s.clock.advance_ms(15 * 60_000);
    assert_eq!(s.try_login("supervisor", "demosuper").await.status(), 200);
}

#[tokio::test]
async fn one_address_guessing_many_usernames_is_throttled() {
    let mut config = common::config();
    config.throttle.max_failures_per_address = 4;
    let s = common::start_with(config).await;
    for name in ["a1", "a2", "a3", "a4"] {
        assert_eq!(s.try_login(name, "guess-guess").await.status(), 401);
    }
    let (status, _) = problem(s.try_login("1001", "demo1001").await).await;
    assert_eq!(status, 429);
}

#[tokio::test]
async fn unsafe_cookie_requests_need_the_csrf_header() {
    let s = common::start().await;
    let b = s.admin().await;
    let body = json!({"name": "crm", "role": "agent"});
    let missing =
        s.anon(Method::POST, "/api/tokens").header("cookie", &b.cookie).json(&body).send().await.expect("post");
    let (status, p) = problem(missing).await;
    assert_eq!((status, p["type"].clone()), (403, json!(problem_type("csrf"))));
    assert_eq!(p["detail"], "the x-csrf-token header is missing");

    let wrong = s
        .anon(Method::POST, "/api/tokens")
        .header("cookie", &b.cookie)
        .header("x-csrf-token", "0".repeat(64))
        .json(&body)
        .send()
        .await
        .expect("post");
    let (status, p) = problem(wrong).await;
    assert_eq!((status, p["detail"].clone()), (403, json!("the x-csrf-token header does not match this session")));

    let ok = s.as_browser(&b, Method::POST, "/api/tokens").json(&body).send().await.expect("post");
    assert_eq!(ok.status(), 201);
}

#[tokio::test]
async fn foreign_origin_is_refused_and_own_origin_accepted() {
    let s = common::start().await;
    let b = s.admin().await;
    let body = json!({"name": "crm", "role": "agent"});
    let foreign = s.as_browser(&b, Method::POST, "/api/tokens").header("origin", "https://evil.example").json(&body);
    let (status, p) = problem(foreign.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (403, json!(problem_type("csrf"))));
    let own = s.as_browser(&b, Method::POST, "/api/tokens").header("origin", &s.base).json(&body);
    assert_eq!(own.send().await.expect("post").status(), 201);
    let login_from_elsewhere = s
        .anon(Method::POST, "/api/auth/login")
        .header("origin", "null")
        .json(&json!({"username": "admin", "password": "demoadmin"}));
    assert_eq!(problem(login_from_elsewhere.send().await.expect("post")).await.0, 403);
}

#[tokio::test]
async fn safe_methods_do_not_need_the_csrf_header() {
    let s = common::start().await;
    let b = s.agent("1002").await;
    let resp = s.anon(Method::GET, "/api/me").header("cookie", &b.cookie).send().await.expect("me");
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn api_token_acts_with_its_role_and_stops_when_revoked() {
    let s = common::start().await;
    let admin = s.admin().await;
    let created =
        s.as_browser(&admin, Method::POST, "/api/tokens").json(&json!({"name": "wallboard tv", "role": "supervisor"}));
    let created = common::json(created.send().await.expect("create")).await;
    let token = created["token"].as_str().expect("token shown once").to_owned();
    assert!(token.starts_with("hlt_"));

    let agents = s.as_token(&token, Method::GET, "/api/agents").send().await.expect("agents");
    assert_eq!(agents.status(), 200);
    let create_skill = s.as_token(&token, Method::POST, "/api/skills").json(&json!({"name": "billing"}));
    let (status, p) = problem(create_skill.send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (403, json!(problem_type("forbidden"))), "scoped to supervisor");

    let listed = common::json(s.as_browser(&admin, Method::GET, "/api/tokens").send().await.expect("list")).await;
    assert_eq!(listed["items"][0]["name"], "wallboard tv");
    assert!(!listed.to_string().contains(&token[4..]), "the token is never shown again");

    let id = created["id"].as_str().expect("id");
    let revoked = s.as_browser(&admin, Method::DELETE, &format!("/api/tokens/{id}")).send().await.expect("revoke");
    assert_eq!(revoked.status(), 204);
    let (status, _) = problem(s.as_token(&token, Method::GET, "/api/agents").send().await.expect("agents")).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn malformed_and_unknown_bearer_tokens_are_refused() {
    let s = common::start().await;
    let unknown = format!("hlt_{}", "a".repeat(64));
    for header in
        ["Bearer", "Bearer hlt_short", "Basic YWRtaW46ZGVtb2FkbWlu", &format!("Bearer {unknown}"), "Bearer \u{1}"]
    {
        let resp = s.anon(Method::GET, "/api/skills").header("authorization", header).send().await;
        let Ok(resp) = resp else { continue }; // reqwest refuses control bytes itself
        let (status, p) = problem(resp).await;
        assert_eq!((status, p["type"].clone()), (401, json!(problem_type("unauthenticated"))), "{header}");
    }
}

#[tokio::test]
async fn password_change_ends_other_sessions_and_keeps_this_one() {
    let s = common::start().await;
    let here = s.agent("1004").await;
    let elsewhere = s.agent("1004").await;
    let change = |current: &str, new: &str| {
        s.as_browser(&here, Method::POST, "/api/me/password")
            .json(&json!({"current_password": current, "new_password": new}))
    };
    let (status, p) = problem(change("wrong-one", "new-password-1").send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (401, json!(problem_type("invalid-credentials"))));
    let (status, p) = problem(change("demo1004", "short").send().await.expect("post")).await;
    assert_eq!((status, p["type"].clone()), (422, json!(problem_type("validation"))));

    let resp = change("demo1004", "new-password-1").send().await.expect("post");
    assert_eq!(resp.status(), 200);
    let cookie = resp.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("pair").to_owned();
    let body: serde_json::Value = resp.json().await.expect("json");
    let renewed = Browser { cookie, csrf: body["csrf_token"].as_str().expect("csrf").to_owned(), me: body };
    assert_eq!(me_status(&s, &renewed).await, 200);
    assert_eq!(me_status(&s, &here).await, 401);
    assert_eq!(me_status(&s, &elsewhere).await, 401);
    assert_eq!(s.try_login("1004", "demo1004").await.status(), 401);
    assert_eq!(s.try_login("1004", "new-password-1").await.status(), 200);
}

#[tokio::test]
async fn api_token_cannot_change_a_password() {
    let s = common::start().await;
    let admin = s.admin().await;
    let created = s.as_browser(&admin, Method::POST, "/api/tokens").json(&json!({"name": "x", "role": "admin"}));
    let token = common::json(created.send().await.expect("create")).await["token"].as_str().expect("t").to_owned();
    let resp = s
        .as_token(&token, Method::POST, "/api/me/password")
        .json(&json!({"current_password": "demoadmin", "new_password": "whatever-123"}))
        .send()
        .await
        .expect("post");
    assert_eq!(problem(resp).await.0, 403);
}

#[tokio::test]
async fn each_client_address_is_rate_limited() {
    let mut config = common::config();
    config.rate.requests_per_second = 1;
    config.rate.burst_requests = 3;
    let s = common::start_with(config).await;
    for _ in 0..3 {
        assert_eq!(s.anon(Method::GET, "/healthz").send().await.expect("get").status(), 200);
    }
    let resp = s.anon(Method::GET, "/healthz").send().await.expect("get");
    assert_eq!(resp.headers()["retry-after"], "1");
    let (status, p) = problem(resp).await;
    assert_eq!((status, p["type"].clone()), (429, json!(problem_type("rate-limited"))));
    s.clock.advance_ms(1_000);
    assert_eq!(s.anon(Method::GET, "/healthz").send().await.expect("get").status(), 200);
}

#[tokio::test]
async fn admin_creates_a_user_who_can_sign_in_until_deactivated() {
    let s = common::start().await;
    let admin = s.admin().await;
    let body =
        json!({"username": "Lead2", "display_name": "Team lead", "role": "supervisor", "password": "lead-pass-1"});
    let created =
        common::json(s.as_browser(&admin, Method::POST, "/api/users").json(&body).send().await.expect("create")).await;
    assert_eq!((created["username"].clone(), created["role"].clone()), (json!("lead2"), json!("supervisor")));
    let dup = s.as_browser(&admin, Method::POST, "/api/users").json(&body).send().await.expect("create");
    assert_eq!(problem(dup).await.0, 409);

    let lead = s.login("lead2", "lead-pass-1").await;
    assert_eq!(me_status(&s, &lead).await, 200);
    let id = created["id"].as_str().expect("id");
    let off = s.as_browser(&admin, Method::PATCH, &format!("/api/users/{id}")).json(&json!({"active": false}));
    assert_eq!(common::json(off.send().await.expect("patch")).await["active"], false);
    assert_eq!(me_status(&s, &lead).await, 401, "deactivation ends the user's sessions");
    assert_eq!(s.try_login("lead2", "lead-pass-1").await.status(), 401);
}

#[tokio::test]
async fn role_change_and_password_reset_end_the_users_sessions() {
    let s = common::start().await;
    let admin = s.admin().await;
    let agent = s.agent("1006").await;
    let id = agent.me["user"]["id"].as_str().expect("id").to_owned();
    let promote = s.as_browser(&admin, Method::PATCH, &format!("/api/users/{id}")).json(&json!({"role": "supervisor"}));
    assert_eq!(promote.send().await.expect("patch").status(), 200);
    assert_eq!(me_status(&s, &agent).await, 401);
    let again = s.agent("1006").await;
    assert_eq!(again.me["user"]["role"], "supervisor");

    let reset = s
        .as_browser(&admin, Method::POST, &format!("/api/users/{id}/password"))
        .json(&json!({"new_password": "fresh-pass-6"}));
    assert_eq!(reset.send().await.expect("reset").status(), 204);
    assert_eq!(me_status(&s, &again).await, 401);
    assert_eq!(s.try_login("1006", "fresh-pass-6").await.status(), 200);
}

#[tokio::test]
async fn admin_cannot_lock_themselves_out() {
    let s = common::start().await;
    let admin = s.admin().await;
    let id = admin.me["user"]["id"].as_str().expect("id").to_owned();
    let demote = s.as_browser(&admin, Method::PATCH, &format!("/api/users/{id}")).json(&json!({"role": "agent"}));
    let (status, p) = problem(demote.send().await.expect("patch")).await;
    assert_eq!((status, p["type"].clone()), (409, json!(problem_type("conflict"))));
    assert_eq!(me_status(&s, &admin).await, 200);
}

#[tokio::test]
async fn a_burst_of_sign_ins_beyond_the_hashing_slots_gets_503_not_unbounded_work() {
    let mut config = common::config();
    config.max_concurrent_password_hashes = 1;
    config.password_queue_timeout_ms = 1;
    let s = std::sync::Arc::new(common::start_with(config).await);
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            let resp = s.try_login("admin", "demoadmin").await;
            let retry = resp.headers().contains_key("retry-after");
            (resp.status().as_u16(), retry)
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    assert!(answers.iter().all(|(s, _)| *s == 200 || *s == 503), "{answers:?}");
    assert!(answers.iter().any(|(s, retry)| *s == 503 && *retry), "{answers:?}");
    assert!(answers.iter().any(|(s, _)| *s == 200), "{answers:?}");
}

#[tokio::test]
async fn sessions_tokens_and_audit_live_in_the_database_across_servers() {
    let s = common::start().await;
    let admin = s.admin().await;
    let created = s.as_browser(&admin, Method::POST, "/api/tokens").json(&json!({"name": "crm", "role": "agent"}));
    let token = common::json(created.send().await.expect("create")).await["token"].as_str().expect("token").to_owned();
    let other = common::another_server_on(&s).await;
    let me = s.http.get(format!("{other}/api/me")).header("cookie", &admin.cookie).send().await.expect("me");
    assert_eq!(me.status(), 200, "the session is known to a second server on the same database");
    let skills = s.http.get(format!("{other}/api/skills")).bearer_auth(&token).send().await.expect("skills");
    assert_eq!(skills.status(), 200);
    let log = s.http.get(format!("{other}/api/audit")).header("cookie", &admin.cookie).send().await.expect("audit");
    assert_eq!(common::json(log).await["items"][0]["action"], "create_token");
}
