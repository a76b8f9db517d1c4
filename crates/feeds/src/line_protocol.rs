//! InfluxDB line protocol: one [`Point`] to one line,
//! `measurement,tag=v,tag=v field=1i,field="text" 1764230400000000000`.
//!
//! Escaping (InfluxDB 1.x and 2.x): in the measurement `,` and space; in tag keys, tag values
//! and field keys `,`, `=` and space; in string field values `"` and `\`. Integers carry the
//! `i` suffix, floats are written in full (never NaN or infinite), booleans are `true`/`false`,
//! timestamps are nanoseconds. Tags are written sorted by key, as InfluxDB recommends.
//!
//! Must never produce a line InfluxDB would misread: input it cannot express (a newline
//! anywhere, an empty key or tag value, a measurement starting with `#`, no fields, duplicate
//! keys, NaN) is refused with a [`LineError`].

use std::fmt::Write as _;

/// One field value.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldValue {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(String),
}

/// One point: a measurement, tags, at least one field and a time.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    pub measurement: String,
    pub tags: Vec<(String, String)>,
    pub fields: Vec<(String, FieldValue)>,
    /// Unix time in nanoseconds.
    pub timestamp_ns: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LineError {
    #[error("the measurement is empty or starts with '#'")]
    BadMeasurement,
    #[error("{what} {name:?} is empty")]
    Empty { what: &'static str, name: String },
    #[error("{what} {name:?} contains a line break, which line protocol cannot carry")]
    LineBreak { what: &'static str, name: String },
    #[error("a point needs at least one field")]
    NoFields,
    #[error("key {0:?} appears twice")]
    DuplicateKey(String),
    #[error("field {0:?} is NaN or infinite")]
    NotFinite(String),
    #[error("timestamp {0} ms is outside the nanosecond range")]
    TimestampRange(i64),
}

impl Point {
    pub fn new(measurement: impl Into<String>, timestamp_ns: i64) -> Self {
        Self { measurement: measurement.into(), tags: Vec::new(), fields: Vec::new(), timestamp_ns }
    }

    /// A point at a Unix time in milliseconds.
    pub fn at_ms(measurement: impl Into<String>, unix_ms: i64) -> Result<Self, LineError> {
        let ns = unix_ms.checked_mul(1_000_000).ok_or(LineError::TimestampRange(unix_ms))?;
        Ok(Self::new(measurement, ns))
    }

    pub fn tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }

    pub fn field(mut self, key: impl Into<String>, value: FieldValue) -> Self {
        self.fields.push((key.into(), value));
        self
    }

    /// The line, without the trailing newline.
    pub fn to_line(&self) -> Result<String, LineError> {
        if self.measurement.is_empty() || self.measurement.starts_with('#') {
            return Err(LineError::BadMeasurement);
        }
        check_text("measurement", &self.measurement, &self.measurement)?;
        if self.fields.is_empty() {
            return Err(LineError::NoFields);
        }
        let mut tags: Vec<&(String, String)> = self.tags.iter().collect();
        tags.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in tags.windows(2) {
            if pair[0].0 == pair[1].0 {
                return Err(LineError::DuplicateKey(pair[0].0.clone()));
            }
        }
        let mut line = String::with_capacity(64);
        escape_into(&mut line, &self.measurement, &[',', ' ']);
        for (k, v) in tags {
            check_key("tag key", k)?;
            check_key("tag value", v).map_err(|_| tag_value_error(k, v))?;
            line.push(',');
            escape_into(&mut line, k, &[',', '=', ' ']);
            line.push('=');
            escape_into(&mut line, v, &[',', '=', ' ']);
        }
        let mut seen: Vec<&str> = Vec::with_capacity(self.fields.len());
        for (i, (k, v)) in self.fields.iter().enumerate() {
            check_key("field key", k)?;
            if seen.contains(&k.as_str()) {
                return Err(LineError::DuplicateKey(k.clone()));
            }
            seen.push(k);
            line.push(if i == 0 { ' ' } else { ',' });
            escape_into(&mut line, k, &[',', '=', ' ']);
            line.push('=');
            write_value(&mut line, k, v)?;
        }
        let _ = write!(line, " {}", self.timestamp_ns);
        Ok(line)
    }
}

fn tag_value_error(key: &str, value: &str) -> LineError {
    if value.is_empty() {
        LineError::Empty { what: "value of tag", name: key.to_owned() }
    } else {
        LineError::LineBreak { what: "value of tag", name: key.to_owned() }
    }
}

fn check_text(what: &'static str, name: &str, text: &str) -> Result<(), LineError> {
    if text.contains(['\n', '\r']) {
        return Err(LineError::LineBreak { what, name: name.to_owned() });
    }
    Ok(())
}

fn check_key(what: &'static str, key: &str) -> Result<(), LineError> {
    if key.is_empty() {
        return Err(LineError::Empty { what, name: String::new() });
    }
    check_text(what, key, key)
}

fn escape_into(out: &mut String, text: &str, special: &[char]) {
    for c in text.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

fn write_value(out: &mut String, key: &str, value: &FieldValue) -> Result<(), LineError> {
    match value {
        FieldValue::Int(n) => {
            let _ = write!(out, "{n}i");
        }
        FieldValue::Float(x) if !x.is_finite() => return Err(LineError::NotFinite(key.to_owned())),
        // `{:?}` keeps a decimal point or exponent (`1.0`, `1e300`) so the value stays a float.
        FieldValue::Float(x) => {
            let _ = write!(out, "{x:?}");
        }
        FieldValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        FieldValue::Str(s) => {
            check_text("string field", key, s)?;
            out.push('"');
            escape_into(out, s, &['"', '\\']);
            out.push('"');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_each_part_by_its_own_rules() {
        let p = Point::new("queue stats,x", 5)
            .tag("z key", "b=c,d")
            .tag("a", "plain")
            .field("wait ms", FieldValue::Int(-3))
            .field("name", FieldValue::Str(r#"say "hi" \ bye"#.into()))
            .field("ratio", FieldValue::Float(1.0))
            .field("ok", FieldValue::Bool(true));
        assert_eq!(
            p.to_line().expect("valid"),
            r#"queue\ stats\,x,a=plain,z\ key=b\=c\,d wait\ ms=-3i,name="say \"hi\" \\ bye",ratio=1.0,ok=true 5"#
        );
    }

    #[test]
    fn milliseconds_become_nanoseconds() {
        let p = Point::at_ms("m", 1_764_230_400_123).expect("in range").field("v", FieldValue::Int(1));
        assert_eq!(p.to_line().expect("valid"), "m v=1i 1764230400123000000");
        assert_eq!(Point::at_ms("m", i64::MAX).expect_err("overflow"), LineError::TimestampRange(i64::MAX));
    }

    #[test]
    fn refuses_what_line_protocol_cannot_carry() {
        let ok = || Point::new("m", 1).field("v", FieldValue::Int(1));
        assert_eq!(Point::new("m", 1).to_line(), Err(LineError::NoFields));
        assert_eq!(ok().tag("t", "").to_line(), Err(LineError::Empty { what: "value of tag", name: "t".into() }));
        assert!(matches!(ok().tag("t", "a\nb").to_line(), Err(LineError::LineBreak { .. })));
        assert!(matches!(
            ok().field("s", FieldValue::Str("a\r\nb".into())).to_line(),
            Err(LineError::LineBreak { .. })
        ));
        assert_eq!(ok().field("f", FieldValue::Float(f64::NAN)).to_line(), Err(LineError::NotFinite("f".into())));
        assert_eq!(ok().field("v", FieldValue::Int(2)).to_line(), Err(LineError::DuplicateKey("v".into())));
        assert_eq!(ok().tag("t", "1").tag("t", "2").to_line(), Err(LineError::DuplicateKey("t".into())));
        assert_eq!(Point::new("#c", 1).field("v", FieldValue::Int(1)).to_line(), Err(LineError::BadMeasurement));
        assert!(matches!(ok().field("", FieldValue::Int(1)).to_line(), Err(LineError::Empty { .. })));
    }

    #[test]
    fn large_and_small_floats_stay_floats() {
        for (x, text) in [(1e300, "1e300"), (0.5, "0.5"), (-2.0, "-2.0"), (1.5e-7, "1.5e-7")] {
            let line = Point::new("m", 0).field("f", FieldValue::Float(x)).to_line().expect("finite");
            assert_eq!(line, format!("m f={text} 0"));
        }
    }
}
