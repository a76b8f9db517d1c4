//! A private dovecot (Debian package `dovecot-imapd`) on 127.0.0.1 for the IMAP tests: its own
//! generated config in a temp dir (passwd-file users, maildir, no TLS), started with `dovecot -F`
//! and stopped by its own PID. Never touches the system service.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Dovecot {
    pub port: u16,
    child: Child,
    dir: tempfile::TempDir,
}

fn id(flag: &str) -> String {
    let out = Command::new("id").arg(flag).output().expect("run id");
    String::from_utf8(out.stdout).expect("id prints utf-8").trim().to_owned()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Dovecot {
    /// Starts dovecot with one user, `user`/`password`. Panics (fails the test) if dovecot is not installed.
    pub fn start(user: &str, password: &str) -> Dovecot {
        let dovecot = Path::new("/usr/sbin/dovecot");
        assert!(dovecot.exists(), "dovecot is not installed: apt-get install -y dovecot-imapd");
        let dir = tempfile::Builder::new().prefix("hotline-dovecot").tempdir().unwrap();
        let root = dir.path();
        let mail = root.join("mail");
        std::fs::create_dir_all(root.join("run")).unwrap();
        std::fs::create_dir_all(&mail).unwrap();
        // As root, dovecot refuses mail access with UID 0: the mail user is `nobody` and the
        // package's own `dovecot`/`dovenull` users run the internal and login processes.
        let (mail_uid, mail_gid, internal_user, login_user) = if id("-u") == "0" {
            std::os::unix::fs::chown(&mail, Some(65534), Some(65534)).unwrap();
            ("65534".to_owned(), "65534".to_owned(), "dovecot".to_owned(), "dovenull".to_owned())
        } else {
            (id("-u"), id("-g"), id("-un"), id("-un"))
        };
        set_mode(root, 0o755);
        let passwd = root.join("passwd");
        std::fs::write(
            &passwd,
            format!("{user}:{{PLAIN}}{password}:{mail_uid}:{mail_gid}::{}/{user}\n", mail.display()),
        )
        .unwrap();
        let port = free_port();
        let r = root.display();
        let conf = format!(
            "base_dir = {r}/run\nstate_dir = {r}/run\nlog_path = {r}/dovecot.log\nprotocols = imap\n\
             listen = 127.0.0.1\nssl = no\ndisable_plaintext_auth = no\nauth_mechanisms = plain login\n\
             mail_location = maildir:{r}/mail/%u\nfirst_valid_uid = 1\n\
             default_internal_user = {internal_user}\ndefault_login_user = {login_user}\n\
             passdb {{\n  driver = passwd-file\n  args = {p}\n}}\n\
             userdb {{\n  driver = passwd-file\n  args = {p}\n}}\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    address = 127.0.0.1\n    port = {port}\n  }}\n\
               inet_listener imaps {{\n    port = 0\n  }}\n}}\nservice anvil {{\n  chroot =\n}}\n",
            p = passwd.display()
        );
        let conf_path = root.join("dovecot.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(dovecot)
            .arg("-F")
            .arg("-c")
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");
        let server = Dovecot { port, child, dir };
        server.wait_ready(user, password);
        server
    }

    /// Waits until a LOGIN succeeds (the auth process starts after the listener).
    fn wait_ready(&self, user: &str, password: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if self.try_login(user, password) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let log = std::fs::read_to_string(self.dir.path().join("dovecot.log")).unwrap_or_default();
        panic!("dovecot did not accept a login within 20 s; log:\n{log}");
    }

    fn try_login(&self, user: &str, password: &str) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).is_err() {
            return false;
        }
        if stream.write_all(format!("a LOGIN {user} {password}\r\n").as_bytes()).is_err() {
            return false;
        }
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => return false,
                Ok(_) if line.starts_with("a OK") => {
                    let _ = stream.write_all(b"b LOGOUT\r\n");
                    return true;
                }
                Ok(_) if line.starts_with("a ") => return false,
                Ok(_) => {}
            }
        }
    }
}

#[cfg(unix)]
fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGTERM to our own master only: it stops the processes it started.
        let _ = Command::new("kill").arg("-TERM").arg(self.child.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
