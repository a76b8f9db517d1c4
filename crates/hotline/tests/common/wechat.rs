//! WeChat official-account callbacks as WeChat sends them: XML bodies of the documented shapes,
//! signed with the account's token over (timestamp, nonce).

use std::sync::atomic::{AtomicU64, Ordering};

/// Now, in unix seconds (WeChat's `CreateTime` and the signature's timestamp).
pub fn unix_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs()
}

/// POSTs `xml` to the binary's `/wechat/callback`, signed with `token`; each call its own nonce.
pub fn callback(base: &str, token: &str, xml: String) -> reqwest::blocking::Response {
    static NONCES: AtomicU64 = AtomicU64::new(0);
    let (timestamp, nonce) = (unix_s().to_string(), format!("n0nce{}", NONCES.fetch_add(1, Ordering::Relaxed)));
    let signature = social::wechat::signature(token, &timestamp, &nonce);
    let url = format!("{base}/wechat/callback?signature={signature}&timestamp={timestamp}&nonce={nonce}");
    reqwest::blocking::Client::new().post(url).body(xml).send().expect("callback")
}

/// A text message from the follower `from` to the account `gh_shop`.
pub fn text(from: &str, content: &str, msg_id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName>\
         <CreateTime>{}</CreateTime><MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>",
        unix_s()
    )
}
