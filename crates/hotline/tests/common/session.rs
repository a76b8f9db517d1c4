//! A signed-in user of a running `hotline` over HTTP: the session cookie and CSRF token that the
//! sign-in returned, sent with every call.

use serde_json::{Value, json};

pub struct Session {
    http: reqwest::blocking::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Session {
    /// Signs `user` in at `base` (`http://127.0.0.1:port`); panics unless the sign-in is a 200.
    pub fn login(base: &str, user: &str, password: &str) -> Session {
        let http = reqwest::blocking::Client::new();
        let r = http
            .post(format!("{base}/api/auth/login"))
            .json(&json!({"username": user, "password": password}))
            .send()
            .expect("login");
        assert_eq!(r.status(), 200, "login {user}");
        let cookie = r.headers()["set-cookie"].to_str().expect("ascii").split(';').next().expect("cookie").to_owned();
        let me: Value = r.json().expect("json");
        let csrf = me["csrf_token"].as_str().expect("csrf").to_owned();
        Session { http, base: base.to_owned(), cookie, csrf }
    }

    /// One API call; the status and the JSON body (`null` when there is none).
    pub fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().expect("request");
        let status = r.status().as_u16();
        let bytes = r.bytes().expect("body");
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// The contacts ringing or connected with the agent whose extension is `ext`, as `/api/live`
    /// lists them.
    pub fn my_contacts(&self, ext: &str) -> Vec<String> {
        let live = self.ok("GET", "/api/live", None);
        let agents = live["agents"].as_array().cloned().unwrap_or_default();
        let me = agents.iter().find(|a| a["extension"] == ext).cloned().unwrap_or(Value::Null);
        me["contacts"]
            .as_array()
            .map(|c| c.iter().filter_map(|c| c.as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }

    /// [`Session::call`] that must succeed (2xx); the JSON body.
    pub fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, body);
        assert!((200..300).contains(&status), "{method} {path}: {status} {v}");
        v
    }

    /// The raw body of a GET that must be a 200 (a recording, a download).
    pub fn bytes(&self, path: &str) -> Vec<u8> {
        let r = self.http.get(format!("{}{path}", self.base)).header("cookie", &self.cookie).send().expect("get");
        assert_eq!(r.status(), 200, "{path}");
        r.bytes().expect("body").to_vec()
    }
}
