//! The `hotline` binary as a user runs it: flags, bad input, the demo, shutdown.
//!
//! Each test runs the real binary (`CARGO_BIN_EXE_hotline`) in a temp directory, on free
//! loopback ports, and stops what it starts.

mod common;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::server::{Launch, Server, free_port, store_at};
use feeds::test_influxd::Influxd;
use model::{Extension, Username};

fn hotline() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hotline"));
    // A developer's own HOTLINE_* settings must not leak into the tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("HOTLINE_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("HOTLINE_LOG_LEVEL", "warn");
    cmd.stdin(Stdio::null());
    cmd
}

fn run(args: &[&str], dir: &Path) -> Output {
    hotline().args(args).current_dir(dir).output().expect("run hotline")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).trim_end().to_owned()
}

/// The error contract: non-zero exit and exactly one line on stderr.
fn assert_one_line_error(o: &Output, starts_with: &str) {
    assert!(!o.status.success(), "expected failure, got success; stderr: {}", stderr(o));
    let err = stderr(o);
    assert_eq!(err.lines().count(), 1, "error must be one line: {err:?}");
    assert!(err.starts_with(starts_with), "stderr {err:?} does not start with {starts_with:?}");
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write file");
    p
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into())
        .collect();
    v.sort();
    v
}

#[test]
fn version_and_help_are_printed() {
    let tmp = tempfile::tempdir().expect("tmp");
    let v = run(&["--version"], tmp.path());
    assert!(v.status.success());
    assert_eq!(String::from_utf8_lossy(&v.stdout).trim(), format!("hotline {}", env!("CARGO_PKG_VERSION")));
    let h = run(&["--help"], tmp.path());
    let help = String::from_utf8_lossy(&h.stdout);
    for word in ["serve", "demo", "migrate", "check-config"] {
        assert!(help.contains(word), "--help lacks {word}: {help}");
    }
    let sh = run(&["serve", "--help"], tmp.path());
    let serve_help = String::from_utf8_lossy(&sh.stdout);
    for flag in ["--data-dir", "--http-port", "--sip-port", "--config"] {
        assert!(serve_help.contains(flag), "serve --help lacks {flag}");
    }
}

#[test]
fn check_config_accepts_a_valid_file() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = write(tmp.path(), "ok.toml", "[http]\nport = 8081\n[sip]\nport = 5070\n");
    let o = run(&["check-config", f.to_str().expect("utf8")], tmp.path());
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("valid"));
}

#[test]
fn check_config_names_each_kind_of_bad_input() {
    let tmp = tempfile::tempdir().expect("tmp");
    let cases = [
        ("port.toml", "[sip]\nport = 70000\n", "hotline: sip.port: 70000 is not a port".to_owned()),
        ("unknown.toml", "[http]\nprot = 1\n", "hotline: http.prot: unknown key".to_owned()),
        (
            "syntax.toml",
            "[http\nport = 1\n",
            format!("hotline: config file {}: line 1", tmp.path().join("syntax.toml").display()),
        ),
    ];
    for (name, text, expected) in cases {
        let f = write(tmp.path(), name, text);
        assert_one_line_error(&run(&["check-config", f.to_str().expect("utf8")], tmp.path()), &expected);
    }
    let missing = tmp.path().join("absent.toml");
    assert_one_line_error(
        &run(&["check-config", missing.to_str().expect("utf8")], tmp.path()),
        &format!("hotline: config file {}: cannot read it", missing.display()),
    );
}

#[test]
fn serve_with_bad_config_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = write(tmp.path(), "bad.toml", "data_dir = \"state\"\n[sip]\nport = 70000\n");
    assert_one_line_error(
        &run(&["serve", "--config", "bad.toml"], tmp.path()),
        "hotline: sip.port: 70000 is not a port",
    );
    assert_one_line_error(
        &run(&["serve", "--config", "nowhere.toml"], tmp.path()),
        "hotline: config file nowhere.toml",
    );
    assert_one_line_error(
        &run(&["serve", "--http-port", "99999"], tmp.path()),
        "hotline: http.port: 99999 is not a port",
    );
    assert_eq!(entries(tmp.path()), vec!["bad.toml".to_owned()], "nothing may be created");
    drop(f);
}

#[test]
fn unreachable_database_is_one_line_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let port = free_port();
    let url = format!("postgres://postgres:secret@127.0.0.1:{port}/test");
    let o = hotline()
        .args(["serve", "--data-dir", "state"])
        .env("HOTLINE_DATABASE_URL", &url)
        .env("HOTLINE_DATABASE_CONNECT_TIMEOUT", "2s")
        .current_dir(tmp.path())
        .output()
        .expect("run");
    assert_one_line_error(
        &o,
        &format!("hotline: database postgres://postgres:***@127.0.0.1:{port}/test is unreachable"),
    );
    assert!(!stderr(&o).contains("secret"), "the password leaked: {}", stderr(&o));
    assert!(entries(tmp.path()).is_empty(), "nothing may be created: {:?}", entries(tmp.path()));
}

#[test]
fn migrate_twice_is_a_no_op() {
    let tmp = tempfile::tempdir().expect("tmp");
    let first = run(&["migrate", "--data-dir", "state"], tmp.path());
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout).contains("applied"));
    let second = run(&["migrate", "--data-dir", "state"], tmp.path());
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(String::from_utf8_lossy(&second.stdout).contains("already current"));
}

#[test]
fn database_from_a_newer_hotline_is_refused_untouched() {
    let tmp = tempfile::tempdir().expect("tmp");
    assert!(run(&["migrate", "--data-dir", "state"], tmp.path()).status.success());
    let db = tmp.path().join("state/hotline.db");
    // Pretend a future Hotline migrated this database, with python's sqlite3 (no second SQL library here).
    let bump = Command::new("python3")
        .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute(\"INSERT INTO hotline_schema_version (version, name, applied_at_ms) VALUES (9999, 'from_the_future', 0)\"); c.commit()"])
        .arg(&db)
        .status()
        .expect("python3");
    assert!(bump.success());
    let before = std::fs::read(&db).expect("db bytes");
    for cmd in ["serve", "migrate", "demo"] {
        let o = run(&[cmd, "--data-dir", "state"], tmp.path());
        assert_one_line_error(&o, "hotline: database schema is at version 9999, newer than this Hotline supports");
    }
    assert_eq!(std::fs::read(&db).expect("db bytes"), before, "the database must not change");
}

/// `hotline <cmd>` on free loopback ports in `dir`, healthy.
fn start(cmd: &str, dir: &Path) -> Server {
    start_with_env(cmd, dir, &[])
}

fn start_with_env(cmd: &str, dir: &Path, env: &[(&str, &str)]) -> Server {
    env.iter().fold(Launch::demo(dir).command(cmd), |launch, (k, v)| launch.env(k, v)).start()
}

#[test]
fn demo_serves_health_and_readiness_and_keeps_its_data() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = start("demo", tmp.path());
    let ready = reqwest::blocking::get(format!("{}/readyz", server.base)).expect("readyz");
    assert_eq!(ready.status(), 200);
    let (status, err) = server.stop_status();
    assert!(status.success(), "SIGTERM must stop hotline cleanly: {status:?} {err}");

    // Change the data between runs; the second run must keep the change and add nothing twice.
    let org = demo::DEMO_ORG;
    let (rt, s) = store_at(tmp.path());
    let mut customer = rt
        .block_on(s.find_customer_by_phone(org, &model::E164::parse_strict("+8613800000001").expect("e164")))
        .expect("query")
        .expect("gold customer seeded");
    assert_eq!(customer.vip, model::VipTier::Gold);
    customer.name = "Renamed between runs".into();
    rt.block_on(s.update_customer(&customer)).expect("update");
    rt.block_on(s.close());

    let again = start("demo", tmp.path());
    let (status, err) = again.stop_status();
    assert!(status.success(), "the second run must stop cleanly: {status:?} {err}");
    let (rt, s) = store_at(tmp.path());
    let kept = rt.block_on(s.get_customer(org, customer.id)).expect("query").expect("still there");
    assert_eq!(kept.name, "Renamed between runs");
    let all = rt.block_on(s.list_customers(org, &store::Page::first(store::MAX_PAGE_SIZE))).expect("list");
    assert_eq!(all.items.len(), demo::CUSTOMER_COUNT);
}

#[test]
fn serve_refuses_demo_passwords_until_they_are_changed() {
    let tmp = tempfile::tempdir().expect("tmp");
    drop(start("demo", tmp.path()));
    let o = run(&["serve", "--data-dir", "state", "--http-port", &free_port().to_string()], tmp.path());
    assert_one_line_error(
        &o,
        "hotline: refusing to serve: demo passwords are still set for web login 1001, SIP account 1001",
    );
    assert!(stderr(&o).contains("web login admin"));

    let org = demo::DEMO_ORG;
    let (rt, s) = store_at(tmp.path());
    for (login, _) in demo::demo_passwords() {
        let username = Username::parse(login).expect("username");
        let mut user = rt.block_on(s.find_user_by_username(org, &username)).expect("query").expect("user");
        user.password_hash = auth::hash_password(&format!("{login}-changed-pw"), [9; 16]).expect("hash");
        rt.block_on(s.update_user(&user)).expect("update user");
        if let Ok(ext) = Extension::parse(login) {
            let mut agent = rt.block_on(s.find_agent_by_extension(org, &ext)).expect("query").expect("agent");
            agent.sip_secret = model::SipSecret::new("a-new-sip-secret").expect("secret");
            rt.block_on(s.update_agent(&agent)).expect("update agent");
        }
    }
    rt.block_on(s.close());
    let server = start("serve", tmp.path());
    assert_eq!(reqwest::blocking::get(format!("{}/readyz", server.base)).expect("readyz").status(), 200);
    let (status, err) = server.stop_status();
    assert!(status.success(), "serve must stop cleanly: {status:?} {err}");
}

fn sip_options(branch: &str, transport: &str) -> String {
    format!(
        "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=p1\r\nTo: <sip:127.0.0.1>\r\n\
         Call-ID: {branch}@test\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
    )
}

#[test]
fn demo_answers_sip_options_on_udp_and_tcp_of_the_sip_port() {
    use std::io::Write;
    let tmp = tempfile::tempdir().expect("tmp");
    let server = start("demo", tmp.path());
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    udp.send_to(sip_options("cliudp", "UDP").as_bytes(), ("127.0.0.1", server.sip.port())).expect("send");
    let mut buf = [0u8; 4096];
    let n = udp.recv(&mut buf).expect("a SIP answer over UDP");
    assert!(buf[..n].starts_with(b"SIP/2.0 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", server.sip.port())).expect("tcp on the SIP port");
    tcp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    tcp.write_all(sip_options("clitcp", "TCP").as_bytes()).expect("write");
    let n = tcp.read(&mut buf).expect("a SIP answer over TCP");
    assert!(buf[..n].starts_with(b"SIP/2.0 200"), "{}", String::from_utf8_lossy(&buf[..n]));
    let (status, err) = server.stop_status();
    assert!(status.success(), "{err}");
}

#[test]
fn sip_port_in_use_is_a_one_line_error_naming_sip_port() {
    let tmp = tempfile::tempdir().expect("tmp");
    let taken = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    let port = taken.local_addr().expect("addr").port().to_string();
    let o = hotline()
        .args(["demo", "--data-dir", "state", "--http-port", &free_port().to_string(), "--sip-port", &port])
        .env("HOTLINE_HTTP_BIND", "127.0.0.1")
        .env("HOTLINE_SIP_BIND", "127.0.0.1")
        .current_dir(tmp.path())
        .output()
        .expect("run hotline");
    assert_one_line_error(&o, "hotline: sip.port: cannot serve SIP (UDP and TCP) on 127.0.0.1:");
}

#[test]
fn configured_digest_algorithm_and_cookie_flag_reach_the_servers() {
    let tmp = tempfile::tempdir().expect("tmp");
    let server = start_with_env(
        "demo",
        tmp.path(),
        &[
            ("HOTLINE_SIP_DIGEST_ALGORITHMS", "SHA-256"),
            ("HOTLINE_SIP_REALM", "shop.example"),
            ("HOTLINE_HTTP_SECURE_COOKIES", "true"),
        ],
    );
    let register = format!(
        "REGISTER sip:127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bKclireg1;rport\r\n\
         Max-Forwards: 70\r\nFrom: <sip:1001@127.0.0.1>;tag=clireg\r\nTo: <sip:1001@127.0.0.1>\r\n\
         Call-ID: clireg@127.0.0.1\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@127.0.0.1:5999>\r\n\
         Expires: 60\r\nContent-Length: 0\r\n\r\n",
        port = server.sip.port()
    );
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").expect("udp");
    udp.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
    udp.send_to(register.as_bytes(), ("127.0.0.1", server.sip.port())).expect("send");
    let mut buf = [0u8; 4096];
    let n = udp.recv(&mut buf).expect("a SIP answer");
    let answer = String::from_utf8_lossy(&buf[..n]).to_string();
    assert!(answer.starts_with("SIP/2.0 401"), "{answer}");
    let challenge = answer.lines().find(|l| l.to_ascii_lowercase().starts_with("www-authenticate")).expect("challenge");
    assert!(challenge.contains("algorithm=SHA-256"), "{challenge}");
    assert!(!challenge.contains("MD5"), "{challenge}");
    assert!(challenge.contains("realm=\"shop.example\""), "{challenge}");

    let login = reqwest::blocking::Client::new()
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({"username": "supervisor", "password": "demosuper"}))
        .send()
        .expect("login");
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().expect("ascii").to_owned();
    assert!(cookie.contains("; Secure"), "{cookie}");
    let (status, err) = server.stop_status();
    assert!(status.success(), "{err}");
}

/// The demo answers 4000 with its IVR: a sipp caller asks for order 100001 by RFC 4733 keys and
/// hears the status; the binary records the self-served contact and counts it in the report
/// aggregates; that and agent 1001 going Available on the desktop API are published on NATS
/// JetStream and counted in Redis.
#[test]
fn demo_ivr_on_4000_serves_an_order_status_call_and_feeds_it_out() {
    let tmp = tempfile::tempdir().expect("tmp");
    let prefix = format!("hotline_cli_{}", std::process::id());
    let stream = format!("{}_EVENTS", prefix.to_ascii_uppercase());
    let _cleanup = FeedsCleanup { prefix: prefix.clone(), stream: stream.clone() };
    let env = [
        ("HOTLINE_MEDIA_BIND", "127.0.0.1"),
        ("HOTLINE_MEDIA_RTP_PORT_MIN", "25000"),
        ("HOTLINE_MEDIA_RTP_PORT_MAX", "25199"),
        ("HOTLINE_FEEDS_NATS_URL", "nats://127.0.0.1:4222"),
        ("HOTLINE_FEEDS_NATS_SUBJECT_PREFIX", prefix.as_str()),
        ("HOTLINE_FEEDS_REDIS_URL", "redis://127.0.0.1:6379"),
        ("HOTLINE_FEEDS_REDIS_KEY_PREFIX", prefix.as_str()),
    ];
    let server = start_with_env("demo", tmp.path(), &env);
    // Agent 1001 signs in on the desktop API and goes Available (an agent-state event).
    let http = reqwest::blocking::Client::new();
    let login = http
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({"username": "1001", "password": "demo1001"}))
        .send()
        .expect("login");
    assert_eq!(login.status(), 200);
    let cookie = login.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
    let me: serde_json::Value = login.json().expect("json");
    let state = http
        .put(format!("{}/api/me/state", server.base))
        .header("cookie", cookie)
        .header("x-csrf-token", me["csrf_token"].as_str().expect("csrf"))
        .json(&serde_json::json!({"state": "available"}))
        .send()
        .expect("state");
    assert_eq!(state.status(), 204);

    let caller_inf = write(tmp.path(), "callers.csv", "SEQUENTIAL\n+8613800000002;\n");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("../voice/tests/sipp/ivr_order_status.xml");
    let port = free_port();
    let out = Command::new("sipp")
        .arg(format!("127.0.0.1:{}", server.sip.port()))
        .args(["-sf", scenario.to_str().expect("utf8"), "-inf", caller_inf.to_str().expect("utf8"), "-s", "4000"])
        .args(["-i", "127.0.0.1", "-p", &port.to_string(), "-mp", &(port + 2).to_string()])
        .args(["-m", "1", "-timeout", "45s", "-timeout_error", "-nostdin"])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .output()
        .expect("sipp is installed (Debian package sip-tester)");
    assert!(out.status.success(), "sipp caller failed: {}", String::from_utf8_lossy(&out.stderr));
    std::thread::sleep(Duration::from_secs(1));
    let (status, err) = server.stop_status();
    assert!(status.success(), "{err}");

    let (rt, s) = store_at(tmp.path());
    let range = store::TimeRange::new(model::Timestamp::from_unix_ms(0), model::Timestamp::from_unix_ms(i64::MAX / 2));
    let contacts =
        rt.block_on(s.list_contacts_in_range(demo::DEMO_ORG, range, &store::Page::first(10))).expect("contacts");
    let served: Vec<_> =
        contacts.items.iter().filter(|c| c.outcome == Some(model::ContactOutcome::SelfServed)).collect();
    assert_eq!(served.len(), 1, "{:#?}", contacts.items);
    assert!(served[0].ivr_digits.contains("100001"), "{:?}", served[0].ivr_digits);
    let contact = served[0].id.to_string();

    // Report aggregates: one contained IVR contact today.
    let now = model::Timestamp::from_unix_ms(
        i64::try_from(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_millis())
            .expect("ms"),
    );
    let offset = kpi::calendar::UtcOffset::from_minutes(480).expect("offset");
    let period = reports::ReportPeriod::today_vs_yesterday(now, offset);
    let ivr = rt.block_on(reports::ivr_containment(&s, demo::DEMO_ORG, &period)).expect("report");
    assert_eq!((ivr.0.total.current.ivr_entered, ivr.0.total.current.ivr_contained), (1, 1), "{ivr:#?}");

    // NATS JetStream: the contact's end is on <prefix>.contact.ended, with the event id as Nats-Msg-Id.
    rt.block_on(async {
        let client = async_nats::connect("nats://127.0.0.1:4222").await.expect("nats");
        let js = async_nats::jetstream::new(client);
        let mut st = js.get_stream(&stream).await.expect("stream created by hotline");
        let info = st.info().await.expect("info");
        assert!(info.state.messages >= 1, "{info:?}");
        let msg = st.get_last_raw_message_by_subject(&format!("{prefix}.contact.ended")).await.expect("ended event");
        let text = String::from_utf8_lossy(&msg.payload);
        assert!(text.contains(&contact), "{text}");
        assert!(msg.headers.get(async_nats::header::NATS_MESSAGE_ID).is_some(), "{:?}", msg.headers);
        let agent = st.get_last_raw_message_by_subject(&format!("{prefix}.agent.state")).await.expect("agent state");
        assert!(String::from_utf8_lossy(&agent.payload).contains("available"), "{:?}", agent.payload);
    });

    // Redis: the live counters were written under the prefix.
    let keys =
        Command::new("redis-cli").args(["--scan", "--pattern", &format!("{prefix}*")]).output().expect("redis-cli");
    assert!(!String::from_utf8_lossy(&keys.stdout).trim().is_empty(), "no Redis keys under {prefix}");
}

/// Removes the test's JetStream stream and Redis keys, also when the test fails.
struct FeedsCleanup {
    prefix: String,
    stream: String,
}

impl Drop for FeedsCleanup {
    fn drop(&mut self) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async {
            if let Ok(client) = async_nats::connect("nats://127.0.0.1:4222").await {
                let _ = async_nats::jetstream::new(client).delete_stream(&self.stream).await;
            }
        });
        if let Ok(out) = Command::new("redis-cli").args(["--scan", "--pattern", &format!("{}*", self.prefix)]).output()
        {
            for key in String::from_utf8_lossy(&out.stdout).lines().filter(|k| !k.is_empty()) {
                let _ = Command::new("redis-cli").args(["DEL", key]).output();
            }
        }
    }
}

/// With `[feeds] influx_url` set, the demo writes its queues and agents to InfluxDB every interval.
#[test]
fn demo_pushes_queue_and_agent_series_to_influxdb() {
    let tmp = tempfile::tempdir().expect("tmp");
    let influx_dir = tmp.path().join("influx");
    std::fs::create_dir_all(&influx_dir).expect("dir");
    let influxd = Influxd::start(&influx_dir).expect("influxd");
    let env = [("HOTLINE_FEEDS_INFLUX_URL", influxd.url.as_str()), ("HOTLINE_FEEDS_INFLUX_INTERVAL", "1s")];
    let server = start_with_env("demo", tmp.path(), &env);
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut body = String::new();
    while Instant::now() < deadline {
        let resp = reqwest::blocking::Client::new()
            .get(format!("{}/query", influxd.url))
            .query(&[("db", "hotline"), ("q", "SHOW SERIES")])
            .send();
        body = resp.and_then(|r| r.text()).unwrap_or_default();
        if body.contains("general") {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let (status, err) = server.stop_status();
    assert!(status.success(), "{err}");
    assert!(body.contains("general"), "no series for the demo's queues in InfluxDB: {body}");
}

#[test]
fn demo_starts_its_complaint_rule_and_a_bad_rule_is_one_line() {
    let tmp = tempfile::tempdir().expect("tmp");
    let f = write(tmp.path(), "alerts.toml", "[[alerts.rules]]\nname = \"x\"\nthreshold = 0\nwindow_s = 60\n");
    assert_one_line_error(
        &run(&["check-config", f.to_str().expect("utf8")], tmp.path()),
        "hotline: alerts.rules[0].dispositions: or keyword_flags must name at least one complaint mark",
    );

    let server = start("demo", tmp.path());
    let http = reqwest::blocking::Client::new();
    let login = http
        .post(format!("{}/api/auth/login", server.base))
        .json(&serde_json::json!({"username": "supervisor", "password": "demosuper"}))
        .send()
        .expect("login");
    assert_eq!(login.status(), 200);
    let cookie: String = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("; ");
    let alerts: serde_json::Value = http
        .get(format!("{}/api/alerts", server.base))
        .header("cookie", cookie)
        .send()
        .expect("alerts")
        .json()
        .expect("json");
    assert_eq!(alerts["configured"], true, "the demo's complaint rule is running: {alerts}");
    assert_eq!(alerts["active"].as_array().map(Vec::len), Some(0));
    let (status, err) = server.stop_status();
    assert!(status.success(), "{err}");
}
