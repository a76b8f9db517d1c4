//! A real softphone: baresip (Debian package `baresip`) registers as agent 1001 with password
//! demo1001, the binding lands in the store, and a call to 1001 reaches it and is answered.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_registers_as_agent_1001_and_the_binding_is_stored() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    // The default config: its digest algorithms are chosen so that this phone can register.
    let server = start(&store, config()).await;
    let phone_dir = tempfile::tempdir().expect("baresip dir");
    let phone_port = free_port();
    let settings = format!(
        "sip_listen\t\t127.0.0.1:{phone_port}\n\
         module_path\t\t/usr/lib/baresip/modules\n\
         module\t\t\tg711.so\n\
         module_app\t\taccount.so\n"
    );
    std::fs::write(phone_dir.path().join("config"), settings).expect("config");
    let account = format!("<sip:1001@{};transport=udp>;auth_pass=demo1001;regint=600\n", server.local_addr());
    std::fs::write(phone_dir.path().join("accounts"), account).expect("accounts");
    let mut phone = tokio::process::Command::new("baresip")
        .args(["-f", &phone_dir.path().display().to_string(), "-t", "20"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip is installed (Debian package baresip)");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    let _ = phone.start_kill();
    let out = tokio::time::timeout(Duration::from_secs(10), phone.wait_with_output()).await.expect("baresip ends");
    let log = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
        .unwrap_or_default();
    assert_eq!(stored.len(), 1, "baresip did not register: {log}");
    assert_eq!(stored[0].extension.as_str(), "1001");
    assert_eq!(stored[0].source.port(), phone_port, "{stored:?}");
    assert_eq!(server.counters().registrations_accepted, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baresip_as_agent_1001_receives_a_call_and_answers_it() {
    let dir = tempfile::tempdir().expect("dir");
    let store = seeded_store(dir.path()).await;
    let server = start(&store, config()).await;
    let phone_dir = tempfile::tempdir().expect("baresip dir");
    let phone_port = free_port();
    // A sine tone as the microphone and no loudspeaker module: answering needs no sound card.
    let settings = format!(
        "sip_listen\t\t127.0.0.1:{phone_port}\n\
         module_path\t\t/usr/lib/baresip/modules\n\
         module\t\t\tg711.so\n\
         module\t\t\tausine.so\n\
         audio_source\t\tausine,440\n\
         ausrc_srate\t\t48000\n\
         ausrc_channels\t\t2\n\
         module_app\t\taccount.so\n"
    );
    std::fs::write(phone_dir.path().join("config"), settings).expect("config");
    let account =
        format!("<sip:1001@{};transport=udp>;auth_pass=demo1001;regint=600;answermode=auto\n", server.local_addr());
    std::fs::write(phone_dir.path().join("accounts"), account).expect("accounts");
    let mut phone = tokio::process::Command::new("baresip")
        .args(["-f", &phone_dir.path().display().to_string(), "-t", "25"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("baresip is installed (Debian package baresip)");
    let stored = wait_for_bindings(&store, |b| !b.is_empty()).await;
    if stored.len() != 1 {
        let _ = phone.start_kill();
        let out = tokio::time::timeout(Duration::from_secs(10), phone.wait_with_output()).await.expect("baresip ends");
        let log = out
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
            .unwrap_or_default();
        panic!("baresip did not register ({} bindings): {log}", stored.len());
    }
    // A customer calls 1001: direct dial rings the phone, which answers by itself.
    let (code, sipp_log) = sipp("uac_bye.xml", server.local_addr(), free_port(), &["-s", "1001"]).await;
    let _ = phone.start_kill();
    let out = tokio::time::timeout(Duration::from_secs(10), phone.wait_with_output()).await.expect("baresip ends");
    let log = out
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned() + &String::from_utf8_lossy(&o.stderr))
        .unwrap_or_default();
    assert_eq!(code, 0, "the call to baresip failed: {sipp_log}\nbaresip: {log}");
    assert!(log.contains("answering call"), "baresip did not answer: {log}");
    server.stop().await;
}
