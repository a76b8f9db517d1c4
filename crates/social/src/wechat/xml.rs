//! WeChat message XML: parsing callbacks and writing passive replies.
//!
//! Messages are a flat `<xml>` element whose children hold text or CDATA. The parser keeps those
//! children (bounded by `max_fields` and `max_depth`) and maps them to a [`WeChatMessage`]. It refuses
//! bodies over `max_body_bytes`, any DOCTYPE, and any entity reference other than the five predefined
//! ones and character references, so nothing is ever expanded from a DTD.
//!
//! Replies are written with every text inside CDATA, `]]>` split so it cannot close the section early.

use std::collections::HashMap;

use quick_xml::Reader;
use quick_xml::events::Event;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XmlError {
    #[error("body is {size_bytes} bytes, over the limit of {max_body_bytes} bytes")]
    TooLarge { size_bytes: usize, max_body_bytes: usize },
    #[error("body is not UTF-8")]
    NotUtf8,
    #[error("DOCTYPE is not allowed")]
    DocType,
    #[error("entity &{0}; is not allowed")]
    Entity(String),
    #[error("nesting deeper than {0} elements")]
    TooDeep(usize),
    #[error("more than {0} fields")]
    TooManyFields(usize),
    #[error("malformed XML: {0}")]
    Malformed(String),
    #[error("required field {0} is missing")]
    MissingField(&'static str),
    #[error("field {0} is not a number")]
    NotANumber(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XmlLimits {
    pub max_body_bytes: usize,
    pub max_fields: usize,
    pub max_depth: usize,
}

impl Default for XmlLimits {
    fn default() -> Self {
        Self { max_body_bytes: 64 * 1024, max_fields: 64, max_depth: 4 }
    }
}

/// A callback message. `to_user` is our account's original id, `from_user` the customer's openid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    pub to_user: String,
    pub from_user: String,
    pub create_time_s: i64,
    pub message: WeChatMessage,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeChatMessage {
    Text {
        content: String,
        msg_id: Option<u64>,
    },
    Image {
        pic_url: String,
        media_id: String,
        msg_id: Option<u64>,
    },
    Voice {
        media_id: String,
        format: String,
        recognition: Option<String>,
        msg_id: Option<u64>,
    },
    /// A video (`video`) or a short video (`shortvideo`, `short` set).
    Video {
        media_id: String,
        thumb_media_id: String,
        short: bool,
        msg_id: Option<u64>,
    },
    /// A shared place: latitude (`Location_X`), longitude (`Location_Y`) as sent, map scale and
    /// the place's name.
    Location {
        latitude: String,
        longitude: String,
        scale: Option<String>,
        label: String,
        msg_id: Option<u64>,
    },
    /// A shared link (an article or page).
    Link {
        title: String,
        description: String,
        url: String,
        msg_id: Option<u64>,
    },
    /// `event_key` is set (`qrscene_...`) when the user subscribed by scanning a parametric QR code.
    Subscribe {
        event_key: Option<String>,
    },
    Unsubscribe,
    /// Any other message or event type, kept so the shell can count it.
    Other {
        msg_type: String,
        event: Option<String>,
    },
}

/// Parses a callback body.
pub fn parse_message(body: &[u8], limits: &XmlLimits) -> Result<InboundMessage, XmlError> {
    let fields = parse_fields(body, limits)?;
    let text = |name: &'static str| fields.get(name).cloned().ok_or(XmlError::MissingField(name));
    let optional = |name: &str| fields.get(name).cloned().filter(|v| !v.is_empty());
    let msg_id = match fields.get("MsgId") {
        Some(v) => Some(v.trim().parse().map_err(|_| XmlError::NotANumber("MsgId"))?),
        None => None,
    };
    let create_time_s = text("CreateTime")?.trim().parse().map_err(|_| XmlError::NotANumber("CreateTime"))?;
    let msg_type = text("MsgType")?;
    let message = match msg_type.as_str() {
        "text" => WeChatMessage::Text { content: text("Content")?, msg_id },
        "image" => WeChatMessage::Image { pic_url: text("PicUrl")?, media_id: text("MediaId")?, msg_id },
        "voice" => WeChatMessage::Voice {
            media_id: text("MediaId")?,
            format: text("Format")?,
            recognition: optional("Recognition"),
            msg_id,
        },
        "video" | "shortvideo" => WeChatMessage::Video {
            media_id: text("MediaId")?,
            thumb_media_id: optional("ThumbMediaId").unwrap_or_default(),
            short: msg_type == "shortvideo",
            msg_id,
        },
        "location" => WeChatMessage::Location {
            latitude: text("Location_X")?.trim().to_owned(),
            longitude: text("Location_Y")?.trim().to_owned(),
            scale: optional("Scale"),
            label: optional("Label").unwrap_or_default(),
            msg_id,
        },
        "link" => WeChatMessage::Link {
            title: optional("Title").unwrap_or_default(),
            description: optional("Description").unwrap_or_default(),
            url: text("Url")?,
            msg_id,
        },
        "event" => match text("Event")?.to_ascii_lowercase().as_str() {
            "subscribe" => WeChatMessage::Subscribe { event_key: optional("EventKey") },
            "unsubscribe" => WeChatMessage::Unsubscribe,
            other => WeChatMessage::Other { msg_type, event: Some(other.to_owned()) },
        },
        _ => WeChatMessage::Other { msg_type, event: None },
    };
    Ok(InboundMessage { to_user: text("ToUserName")?, from_user: text("FromUserName")?, create_time_s, message })
}

/// The children of the root element as name → text.
fn parse_fields(body: &[u8], limits: &XmlLimits) -> Result<HashMap<String, String>, XmlError> {
    if body.len() > limits.max_body_bytes {
        return Err(XmlError::TooLarge { size_bytes: body.len(), max_body_bytes: limits.max_body_bytes });
    }
    let body = std::str::from_utf8(body).map_err(|_| XmlError::NotUtf8)?;
    let mut reader = Reader::from_str(body);
    let mut fields = HashMap::new();
    let mut depth = 0usize;
    let mut current: Option<(String, String)> = None;
    let mut saw_root = false;
    loop {
        let event = reader.read_event().map_err(|e| XmlError::Malformed(e.to_string()))?;
        match event {
            Event::DocType(_) => return Err(XmlError::DocType),
            Event::Start(start) => {
                depth += 1;
                if depth > limits.max_depth {
                    return Err(XmlError::TooDeep(limits.max_depth));
                }
                if depth == 1 {
                    saw_root = true;
                } else if depth == 2 {
                    let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                    current = Some((name, String::new()));
                }
            }
            Event::End(_) => {
                if depth == 2
                    && let Some((name, value)) = current.take()
                {
                    if fields.len() >= limits.max_fields {
                        return Err(XmlError::TooManyFields(limits.max_fields));
                    }
                    fields.insert(name, value);
                }
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) if depth == 2 => push(&mut current, &t.decode().map_err(malformed)?),
            Event::CData(c) if depth == 2 => push(&mut current, &c.decode().map_err(malformed)?),
            Event::GeneralRef(r) => {
                let resolved = resolve_reference(&r)?;
                if depth == 2 {
                    push(&mut current, &resolved);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !saw_root || depth != 0 {
        return Err(XmlError::Malformed("no complete root element".into()));
    }
    Ok(fields)
}

fn malformed(e: impl std::fmt::Display) -> XmlError {
    XmlError::Malformed(e.to_string())
}

fn push(current: &mut Option<(String, String)>, text: &str) {
    if let Some((_, value)) = current {
        value.push_str(text);
    }
}

fn resolve_reference(r: &quick_xml::events::BytesRef<'_>) -> Result<String, XmlError> {
    if r.is_char_ref() {
        return match r.resolve_char_ref() {
            Ok(Some(c)) => Ok(c.to_string()),
            _ => Err(XmlError::Malformed("bad character reference".into())),
        };
    }
    let name = r.decode().map_err(malformed)?;
    let c = match name.as_ref() {
        "lt" => '<',
        "gt" => '>',
        "amp" => '&',
        "apos" => '\'',
        "quot" => '"',
        other => return Err(XmlError::Entity(other.chars().take(32).collect())),
    };
    Ok(c.to_string())
}

/// A passive reply, written as the HTTP response body to the callback (within WeChat's 5 s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PassiveReply {
    Text { content: String },
    Image { media_id: String },
}

impl PassiveReply {
    /// The reply XML to `inbound` (To/From swapped), stamped `create_time_s`.
    pub fn to_xml(&self, inbound: &InboundMessage, create_time_s: i64) -> String {
        let mut xml = String::with_capacity(256);
        xml.push_str("<xml>");
        field(&mut xml, "ToUserName", &inbound.from_user);
        field(&mut xml, "FromUserName", &inbound.to_user);
        xml.push_str(&format!("<CreateTime>{create_time_s}</CreateTime>"));
        match self {
            PassiveReply::Text { content } => {
                field(&mut xml, "MsgType", "text");
                field(&mut xml, "Content", content);
            }
            PassiveReply::Image { media_id } => {
                field(&mut xml, "MsgType", "image");
                xml.push_str("<Image>");
                field(&mut xml, "MediaId", media_id);
                xml.push_str("</Image>");
            }
        }
        xml.push_str("</xml>");
        xml
    }
}

/// The body that tells WeChat "no passive reply" (it then stops retrying and shows nothing).
pub const NO_REPLY: &str = "success";

fn field(xml: &mut String, name: &str, value: &str) {
    xml.push('<');
    xml.push_str(name);
    xml.push_str("><![CDATA[");
    xml.push_str(&value.replace("]]>", "]]]]><![CDATA[>"));
    xml.push_str("]]></");
    xml.push_str(name);
    xml.push('>');
}
