//! Every layer and every kind of bad input, checked through `load`.

use std::path::PathBuf;

use super::*;

fn no_env() -> Vec<(String, String)> {
    Vec::new()
}

fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("hotline.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

fn load_text(text: &str) -> Result<Config, ConfigError> {
    let (_dir, path) = file(text);
    load(Some(&path), no_env(), &CliOverrides::default())
}

#[test]
fn defaults_alone_are_a_valid_config() {
    let c = load(None, no_env(), &CliOverrides::default()).expect("defaults are valid");
    assert_eq!(c.http.port, 8080);
    assert_eq!(c.sip.port, 5060);
    assert_eq!(c.database.url, "sqlite://data/hotline.db");
    assert_eq!(c.phone.default_country.get(), 86);
}

#[test]
fn file_environment_and_flags_override_in_that_order() {
    let (_dir, path) = file("[http]\nport = 9000\n[sip]\nport = 5070\n");
    let c = load(
        Some(&path),
        env(&[("HOTLINE_HTTP_PORT", "9100"), ("HOTLINE_DATA_DIR", "/var/lib/hotline")]),
        &CliOverrides { http_port: Some(9200), ..CliOverrides::default() },
    )
    .expect("valid");
    assert_eq!((c.http.port, c.sip.port), (9200, 5070));
    assert_eq!(c.data_dir, PathBuf::from("/var/lib/hotline"));
    assert_eq!(c.database.url, "sqlite:///var/lib/hotline/hotline.db");
}

#[test]
fn out_of_range_port_names_key_and_value() {
    let err = load_text("[sip]\nport = 70000\n").unwrap_err();
    assert_eq!(err.to_string(), "sip.port: 70000 is not a port");
}

#[test]
fn unknown_key_is_refused_with_the_known_ones() {
    let err = load_text("[sip]\nprot = 5060\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "sip.prot: unknown key; expected one of bind, port, realm, digest_algorithms, trusted_sources, trunks, advertise"
    );
    let err = load_text("colour = \"blue\"\n").unwrap_err();
    assert!(err.to_string().starts_with("colour: unknown key"), "{err}");
}

#[test]
fn malformed_toml_gives_line_and_column() {
    let (_dir, path) = file("[http]\nport = = 1\n");
    let err = load(Some(&path), no_env(), &CliOverrides::default()).unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with(&format!("config file {}: line 2, column", path.display())), "{msg}");
    assert_eq!(msg.lines().count(), 1);
}

#[test]
fn missing_file_is_named() {
    let err =
        load(Some(std::path::Path::new("/nonexistent/hotline.toml")), no_env(), &CliOverrides::default()).unwrap_err();
    assert!(err.to_string().starts_with("config file /nonexistent/hotline.toml: cannot read it:"), "{err}");
}

#[test]
fn wrong_type_names_the_key() {
    let err = load_text("[http]\nport = \"eighty\"\n").unwrap_err();
    assert!(err.to_string().starts_with("http.port: invalid type"), "{err}");
}

#[test]
fn environment_typos_are_refused() {
    let err = load(None, env(&[("HOTLINE_HTTP_PROT", "1")]), &CliOverrides::default()).unwrap_err();
    assert!(err.to_string().starts_with("HOTLINE_HTTP_PROT: names no configuration key"), "{err}");
    let err = load(None, env(&[("HOTLINE_HTTP_PORT", "abc")]), &CliOverrides::default()).unwrap_err();
    assert!(err.to_string().starts_with("http.port: invalid type"), "{err}");
}

#[test]
fn test_harness_variables_are_ignored() {
    assert!(load(None, env(&[("HOTLINE_TEST_POSTGRES_URL", "x")]), &CliOverrides::default()).is_ok());
}

#[test]
fn database_url_schemes_are_checked_and_passwords_never_echoed() {
    let err = load_text("[database]\nurl = \"oracle://scott:tiger@db/x\"\n").unwrap_err();
    assert_eq!(err.to_string(), "database.url: scheme \"oracle\" is not one of sqlite, postgres, mysql");
    let err = load_text("[database]\nurl = \"nonsense\"\n").unwrap_err();
    assert!(err.to_string().starts_with("database.url:"), "{err}");
    let ok = load_text("[database]\nurl = \"postgresql://u:secret@127.0.0.1/test\"\n").expect("valid");
    assert_eq!(ok.database.url, "postgres://u:secret@127.0.0.1/test");
    assert_eq!(ok.database.redacted_url(), "postgres://u:***@127.0.0.1/test");
}

#[test]
fn bad_values_in_each_section_are_named() {
    for (text, starts) in [
        ("[http]\nbind = \"localhost:80\"\n", "http.bind: "),
        ("[http]\nmax_body_bytes = 10\n", "http.max_body_bytes: 10 is out of range"),
        ("[database]\nmax_connections = 0\n", "database.max_connections: 0 is out of range"),
        ("[database]\nconnect_timeout = \"5\"\n", "database.connect_timeout: \"5\" needs a unit"),
        ("[phone]\ndefault_country = \"china\"\n", "phone.default_country: "),
        ("[log]\nlevel = \"loud\"\n", "log.level: "),
        ("[log]\nformat = \"xml\"\n", "log.format: "),
        ("data_dir = \"\"\n", "data_dir: must not be empty"),
        ("[http]\nport = 5060\n", "sip.port: 5060 is also http.port"),
        ("[chat]\ncalendar = \"Support Hours\"\n", "chat.calendar: \"Support Hours\" is not a calendar name"),
        ("[chat]\nedge_secret = \"short\"\n", "chat.edge_secret: must be at least 16"),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

#[test]
fn redact_url_handles_urls_without_passwords() {
    assert_eq!(redact_url("sqlite://data/hotline.db"), "sqlite://data/hotline.db");
    assert_eq!(redact_url("mysql://root@127.0.0.1:3306/test"), "mysql://root@127.0.0.1:3306/test");
    assert_eq!(redact_url("mysql://root:pw@127.0.0.1:3306"), "mysql://root:***@127.0.0.1:3306");
}

#[test]
fn digest_algorithms_and_origins_are_checked() {
    let c = load_text(
        "[sip]\ndigest_algorithms = [\"sha-256\", \"MD5\"]\n[http]\nallowed_origins = [\"https://desk.example.com\"]\n",
    )
    .expect("valid");
    assert_eq!(c.sip.digest_algorithms, vec!["SHA-256".to_owned(), "MD5".to_owned()]);
    assert_eq!(c.http.allowed_origins, vec!["https://desk.example.com".to_owned()]);
    for (text, starts) in [
        ("[sip]\ndigest_algorithms = []\n", "sip.digest_algorithms: must name"),
        ("[sip]\ndigest_algorithms = [\"SHA-1\"]\n", "sip.digest_algorithms: \"SHA-1\" is not one of"),
        ("[sip]\ndigest_algorithms = [\"MD5\", \"md5\"]\n", "sip.digest_algorithms: \"md5\" is listed twice"),
        ("[sip]\nrealm = \"\"\n", "sip.realm: "),
        (
            "[http]\nallowed_origins = [\"desk.example.com\"]\n",
            "http.allowed_origins: \"desk.example.com\" is not an origin",
        ),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

#[test]
fn list_keys_take_comma_separated_environment_values() {
    let c =
        load(None, env(&[("HOTLINE_SIP_DIGEST_ALGORITHMS", "SHA-256, MD5")]), &CliOverrides::default()).expect("valid");
    assert_eq!(c.sip.digest_algorithms, vec!["SHA-256".to_owned(), "MD5".to_owned()]);
}

#[test]
fn sip_advertise_is_empty_by_default_and_must_be_reachable() {
    assert_eq!(load_text("").expect("valid").sip.advertise, None);
    let c = load_text("[sip]\nadvertise = \"192.0.2.5\"\n").expect("valid");
    assert_eq!(c.sip.advertise, Some("192.0.2.5".parse::<std::net::IpAddr>().expect("ip")));
    for (text, starts) in [
        ("[sip]\nadvertise = \"0.0.0.0\"\n", "sip.advertise: 0.0.0.0 cannot be reached"),
        ("[sip]\nadvertise = \"pbx.example.com\"\n", "sip.advertise:"),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

#[test]
fn media_section_defaults_and_checks() {
    let c = load_text("data_dir = \"/srv/hotline\"\n").expect("valid");
    assert_eq!(c.media.recordings_dir, PathBuf::from("/srv/hotline/recordings"));
    assert_eq!(c.media.advertise, "127.0.0.1".parse::<std::net::IpAddr>().expect("ip"));
    assert_eq!((c.media.rtp_port_min, c.media.rtp_port_max), (20_000, 21_999));
    let c = load_text("[media]\nbind = \"192.0.2.7\"\n").expect("valid");
    assert_eq!(c.media.advertise, "192.0.2.7".parse::<std::net::IpAddr>().expect("ip"));
    for (text, starts) in [
        ("[media]\nrtp_port_min = 20001\n", "media.rtp_port_min: 20001 must be an even port"),
        ("[media]\nrtp_port_min = 80\n", "media.rtp_port_min: 80 must be an even port"),
        ("[media]\nrtp_port_max = 19000\n", "media.rtp_port_max: 19000 must be above"),
        ("[media]\nrtp_port_max = 70000\n", "media.rtp_port_max: 70000 is not a port"),
        ("[media]\nadvertise = \"0.0.0.0\"\n", "media.advertise: 0.0.0.0 cannot be reached"),
        ("[media]\nmedia_timeout = \"10ms\"\n", "media.media_timeout: \"10ms\" is below 1s"),
        ("[media]\nmax_calls = 0\n", "media.max_calls: 0 is out of range"),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

#[test]
fn ivr_and_acd_paths_are_optional() {
    let c = load_text("").expect("valid");
    assert_eq!((c.ivr.flows_dir, c.ivr.prompts_dir, c.acd.routes_file), (None, None, None));
    let c =
        load_text("[ivr]\nflows_dir = \"/etc/hotline/flows\"\n[acd]\nroutes_file = \"routes.toml\"\n").expect("valid");
    assert_eq!(c.ivr.flows_dir, Some(PathBuf::from("/etc/hotline/flows")));
    assert_eq!(c.acd.routes_file, Some(PathBuf::from("routes.toml")));
    let err = load_text("[ivr]\nprompts_dir = \" prompts\"\n").unwrap_err().to_string();
    assert!(err.starts_with("ivr.prompts_dir: "), "{err}");
}

#[test]
fn feeds_are_off_until_a_url_is_given_and_urls_are_checked() {
    let c = load_text("").expect("valid");
    assert_eq!((c.feeds.nats_url, c.feeds.redis_url, c.feeds.influx_url), (None, None, None));
    let c = load(
        None,
        env(&[
            ("HOTLINE_FEEDS_NATS_URL", "nats://127.0.0.1:4222"),
            ("HOTLINE_FEEDS_INFLUX_URL", "http://127.0.0.1:8086"),
        ]),
        &CliOverrides::default(),
    )
    .expect("valid");
    assert_eq!(c.feeds.nats_url.as_deref(), Some("nats://127.0.0.1:4222"));
    assert_eq!(c.feeds.influx_url.as_deref(), Some("http://127.0.0.1:8086"));
    for (text, starts) in [
        ("[feeds]\nnats_url = \"127.0.0.1:4222\"\n", "feeds.nats_url: \"127.0.0.1:4222\" is not a URL"),
        ("[feeds]\nredis_url = \"http://u:secret@h\"\n", "feeds.redis_url: \"http://u:***@h\" is not a URL"),
        ("[feeds]\nnats_subject_prefix = \"a..b\"\n", "feeds.nats_subject_prefix: "),
        ("[feeds]\ninflux_interval = \"10ms\"\n", "feeds.influx_interval: \"10ms\" is below 1s"),
        ("[reports]\nutc_offset_minutes = 900\n", "reports.utc_offset_minutes: 900 is out of range -720 to 840"),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

const ALERT_RULE: &str = r#"
[alerts]
webhook_url = "http://127.0.0.1:9/alerts"
webhook_secret = "0123456789abcdef"
[[alerts.rules]]
name = "投诉激增 complaints"
dispositions = ["complaint"]
keyword_flags = ["complaint"]
threshold = 5
window_s = 900
cooldown_s = 1800
"#;

#[test]
fn alert_rules_are_read_with_their_defaults() {
    let c = load_text(ALERT_RULE).expect("valid");
    assert_eq!(c.alerts.webhook_url.as_deref(), Some("http://127.0.0.1:9/alerts"));
    assert_eq!((c.alerts.webhook_timeout_ms, c.alerts.max_retries, c.alerts.max_pending), (5000, 3, 1000));
    let rule = &c.alerts.rules[0];
    assert_eq!((rule.threshold, rule.window_s, rule.cooldown_s, rule.clear_at_or_below), (5, 900, 1800, 5));
    assert_eq!(rule.dispositions[0].as_str(), "complaint");
    assert!(!format!("{:?}", c.alerts).contains("0123456789abcdef"), "the secret never prints");
    assert!(load(None, no_env(), &CliOverrides::default()).expect("defaults").alerts.rules.is_empty());
}

#[test]
fn bad_alert_settings_name_their_key() {
    let cases = [
        (
            ALERT_RULE.replace("threshold = 5", "threshold = 0"),
            "alerts.rules[0].threshold: 0 is out of range 1 to 100000",
        ),
        (
            ALERT_RULE.replace("\"0123456789abcdef\"", "\"short\""),
            "alerts.webhook_secret: must be at least 16 bytes when alerts.webhook_url is set",
        ),
        (
            ALERT_RULE.replace("[\"complaint\"]\nkeyword", "[\"投诉\"]\nkeyword"),
            "alerts.rules[0].dispositions: reason code \"投诉\" must start with a letter or digit",
        ),
        (
            ALERT_RULE.replace("http://127.0.0.1:9/alerts", "ftp://x"),
            "alerts.webhook_url: \"ftp://x\" is not an http or https URL",
        ),
        (
            ALERT_RULE.replace("window_s = 900", "window_s = 900\nclear_at_or_below = 6"),
            "alerts.rules[0].clear_at_or_below: 6 is out of range 0 to 5",
        ),
        (
            format!("{ALERT_RULE}[[alerts.rules]]\nname = \"x\"\nthreshold = 1\nwindow_s = 60\n"),
            "alerts.rules[1].dispositions: or keyword_flags must name at least one complaint mark",
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(load_text(&text).unwrap_err().to_string(), expected);
    }
}

#[test]
fn recordings_and_transcription_are_off_by_default_and_read_when_set() {
    let d = load(None, no_env(), &CliOverrides::default()).expect("defaults");
    assert_eq!((d.recordings.encryption_key_file.clone(), d.recordings.retention_days), (None, None));
    assert_eq!(d.transcription.model_dir, None);
    let c = load_text(
        "[recordings]\nencryption_key_file = \"/etc/hotline/keys\"\nretention_days = 90\nretention_sweep_interval = \"10m\"\n\
         [transcription]\nmodel_dir = \"/opt/whisper-small-ct2\"\nlanguage = \"zh\"\nworkers = 2\n",
    )
    .expect("valid");
    assert_eq!(c.recordings.encryption_key_file, Some(PathBuf::from("/etc/hotline/keys")));
    assert_eq!((c.recordings.retention_days, c.recordings.retention_sweep_interval.as_ms()), (Some(90), 600_000));
    assert_eq!(c.transcription.model_dir, Some(PathBuf::from("/opt/whisper-small-ct2")));
    assert_eq!((c.transcription.language.as_deref(), c.transcription.workers), (Some("zh"), 2));
    for (text, starts) in [
        ("[recordings]\nretention_days = -1\n", "recordings.retention_days:"),
        ("[recordings]\nretention_sweep_interval = \"10ms\"\n", "recordings.retention_sweep_interval:"),
        ("[transcription]\nlanguage = \"english\"\n", "transcription.language:"),
        ("[transcription]\nworkers = 0\n", "transcription.workers:"),
    ] {
        let err = load_text(text).unwrap_err().to_string();
        assert!(err.starts_with(starts), "{text:?} gave {err:?}");
    }
}

const TRUNK: &str = r#"
[sip]
trusted_sources = ["203.0.113.9"]

[[sip.trunks]]
name = "telecom"
host = "198.51.100.7"
username = "hotline-sh"
password = "s3cret"
register = true
caller_id = "+862150001000"
prefixes = ["+86"]
default = true

[[sip.trunks]]
name = "overseas"
host = "198.51.100.8"
port = 5080
number_format = "national"
national_prefix = ""
default_country = "+1"
prefixes = ["+1"]
max_calls = 5
"#;

#[test]
fn trunks_are_read_with_their_defaults() {
    let c = load_text(TRUNK).expect("valid");
    assert_eq!(c.sip.trusted_sources, vec!["203.0.113.9".parse::<IpAddr>().expect("ip")]);
    let [telecom, overseas] = c.sip.trunks.as_slice() else { panic!("two trunks: {:?}", c.sip.trunks) };
    assert_eq!(telecom.address, "198.51.100.7:5060".parse().expect("addr"));
    assert!(telecom.register && telecom.default);
    assert_eq!(telecom.register_expires_s, 3600);
    assert_eq!(telecom.default_country.get(), 86, "phone.default_country");
    assert_eq!(telecom.number_format, TrunkNumberFormat::E164);
    assert_eq!((telecom.national_prefix.as_str(), telecom.international_prefix.as_str()), ("0", "00"));
    assert_eq!(overseas.address.port(), 5080);
    assert_eq!(overseas.number_format, TrunkNumberFormat::National);
    assert_eq!(overseas.default_country.get(), 1);
    assert_eq!(overseas.max_calls, 5);
    assert!(!format!("{c:?}").contains("s3cret"), "the password never prints");
}

#[test]
fn bad_trunk_settings_name_the_trunk_and_key() {
    let host = load_text("[[sip.trunks]]\nname = \"t\"\nhost = \"sip.example.com\"\ndefault = true\n").unwrap_err();
    assert!(host.to_string().starts_with("sip.trunks[0].host: \"sip.example.com\" is not an IP address"), "{host}");
    let format = TRUNK.replace("number_format = \"national\"", "number_format = \"local\"");
    assert_eq!(
        load_text(&format).unwrap_err().to_string(),
        "sip.trunks[1].number_format: \"local\" is not one of e164, national"
    );
    let no_user = TRUNK.replace("username = \"hotline-sh\"\n", "");
    assert_eq!(
        load_text(&no_user).unwrap_err().to_string(),
        "sip.trunks[0].username: must be set when register = true"
    );
    let twice = TRUNK.replace("name = \"overseas\"", "name = \"telecom\"");
    assert!(load_text(&twice).unwrap_err().to_string().starts_with("sip.trunks[1].name:"));
    let two_defaults = TRUNK.replace("max_calls = 5", "max_calls = 5\ndefault = true");
    assert_eq!(
        load_text(&two_defaults).unwrap_err().to_string(),
        "sip.trunks[1].default: only one trunk may be the default"
    );
    let nowhere = TRUNK.replace("prefixes = [\"+1\"]\n", "");
    assert!(
        load_text(&nowhere)
            .unwrap_err()
            .to_string()
            .starts_with("sip.trunks[1].prefixes: the trunk carries no numbers")
    );
    let tcp = TRUNK.replace("port = 5080", "port = 5080\ntransport = \"tcp\"");
    assert_eq!(load_text(&tcp).unwrap_err().to_string(), "sip.trunks[1].transport: \"tcp\" is not supported; only udp");
    let typo = TRUNK.replace("max_calls = 5", "max_call = 5");
    assert!(load_text(&typo).unwrap_err().to_string().contains("max_call"), "unknown keys are refused");
    let untrusted = TRUNK.replace("203.0.113.9", "proxy.example.com");
    assert!(load_text(&untrusted).unwrap_err().to_string().starts_with("sip.trusted_sources:"));
}

const KEYWORD_RULES: &str = r#"
[[search.keyword_rules]]
name = "complaint"
keywords = ["投诉", "complain*"]
[[search.keyword_rules]]
name = "cancel"
keywords = ["退订", " cancel* "]
"#;

#[test]
fn keyword_rules_are_the_standard_ones_unless_configured() {
    let d = load(None, no_env(), &CliOverrides::default()).expect("defaults");
    assert_eq!(d.search.keyword_rules, ::search::KeywordRules::standard());
    assert!(!d.search.keyword_rules_configured);
    let c = load_text(KEYWORD_RULES).expect("valid");
    assert!(c.search.keyword_rules_configured);
    let hits: Vec<String> =
        c.search.keyword_rules.matches("我要退订, and I complained").into_iter().map(|h| h.rule).collect();
    assert_eq!(hits, vec!["complaint", "cancel"]);
    assert!(c.search.keyword_rules.matches("我要退款").is_empty(), "configured rules replace the standard ones");
}

#[test]
fn bad_keyword_rules_name_their_key() {
    let many = format!("[[search.keyword_rules]]\nname = \"x\"\nkeywords = [{}]\n", vec!["\"a\""; 65].join(", "));
    let cases = [
        (
            KEYWORD_RULES.replace("\" cancel* \"", "\"cancel*\", \"\""),
            "search.keyword_rules[1].keywords[2]: keyword \"\" must be 1 to 64 characters with at most a trailing *",
        ),
        (
            KEYWORD_RULES.replace("\"complain*\"", "\"com*plain\""),
            "search.keyword_rules[0].keywords[1]: keyword \"com*plain\" must be 1 to 64 characters with at most a \
             trailing *",
        ),
        (
            KEYWORD_RULES.replace("name = \"cancel\"", "name = \"can cel\""),
            "search.keyword_rules[1].name: \"can cel\": name must be 1 to 64 letters, digits, _ or -",
        ),
        (
            KEYWORD_RULES.replace("name = \"cancel\"", "name = \"complaint\""),
            "search.keyword_rules[1].name: \"complaint\" is used by another rule",
        ),
        (
            KEYWORD_RULES.replace("[\"退订\", \" cancel* \"]", "[]"),
            "search.keyword_rules[1].keywords: must have 1 to 64 keywords",
        ),
        (many, "search.keyword_rules[0].keywords: must have 1 to 64 keywords"),
        ("[[search.keyword_rules]]\nname = \"x\"\n".to_owned(), "search.keyword_rules[0]: missing field `keywords`"),
    ];
    for (text, expected) in cases {
        assert_eq!(load_text(&text).unwrap_err().to_string(), expected, "{text}");
    }
    let rule = "[[search.keyword_rules]]\nname = \"r\"\nkeywords = [\"a\"]\n";
    let too_many = (0..65).map(|i| rule.replace("\"r\"", &format!("\"r{i}\""))).collect::<String>();
    assert_eq!(load_text(&too_many).unwrap_err().to_string(), "search.keyword_rules: lists 65 rules; at most 64");
}

#[test]
fn chat_edge_secret_is_kept_and_never_printed() {
    let c = load_text("[chat]\nedge_secret = \"0123456789abcdef-edge\"\n").expect("valid");
    assert_eq!(c.chat.edge_secret.as_deref(), Some("0123456789abcdef-edge"));
    assert!(!format!("{c:?}").contains("0123456789abcdef-edge"), "Debug hides the secret");
    assert_eq!(load_text("").expect("valid").chat.edge_secret, None);
}
