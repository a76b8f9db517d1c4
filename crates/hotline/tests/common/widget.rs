//! The web chat widget's WebSocket, driven as the widget drives it.

use std::net::TcpStream;
use std::time::Duration;

use serde_json::Value;
use tungstenite::client::IntoClientRequest;

pub type Ws = tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<TcpStream>>;

/// The chat widget's socket, opened as the widget opens it (same-origin); reads time out after 30 s.
pub fn widget(base: &str) -> Ws {
    let mut request = (base.replacen("http://", "ws://", 1) + "/chat/ws").into_client_request().expect("request");
    request.headers_mut().insert("Origin", base.parse().expect("origin"));
    let (ws, _) = tungstenite::connect(request).expect("chat socket");
    if let tungstenite::stream::MaybeTlsStream::Plain(s) = ws.get_ref() {
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    }
    ws
}

pub fn say(ws: &mut Ws, frame: Value) {
    ws.send(tungstenite::Message::text(frame.to_string())).expect("send");
}

/// Frames until one has `type` = `kind`; returns it.
pub fn until(ws: &mut Ws, kind: &str) -> Value {
    loop {
        if let tungstenite::Message::Text(text) = ws.read().expect("a frame in time") {
            let v: Value = serde_json::from_str(text.as_str()).expect("json");
            if v["type"] == kind {
                return v;
            }
        }
    }
}
