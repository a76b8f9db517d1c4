//! Validated values. A value of one of these types that exists is valid: the only way to build
//! one is a constructor that checks its input and returns a [`ValueError`] naming what was wrong.

use std::fmt;
use std::str::FromStr;

/// Why a value was refused, phrased for the person who typed it:
/// `phone number "12ab" has characters other than digits`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what} \"{input}\" {problem}")]
pub struct ValueError {
    what: &'static str,
    input: String,
    problem: String,
}

impl ValueError {
    pub fn new(what: &'static str, input: &str, problem: impl Into<String>) -> Self {
        // Inputs can be hostile and long; keep the message readable and bounded.
        let input: String = input.chars().take(MAX_ECHOED_INPUT_CHARS).collect();
        Self { what, input, problem: problem.into() }
    }

    /// What kind of value was refused ("phone number", "email", ...).
    pub fn what(&self) -> &'static str {
        self.what
    }

    /// The problem alone, without the value: "is not a port".
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

const MAX_ECHOED_INPUT_CHARS: usize = 80;

/// A country calling code (1–3 digits, not starting with 0), such as `86` or `1`, used to
/// normalise numbers that were written without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CountryCode(u16);

impl CountryCode {
    pub fn new(code: u16) -> Result<Self, ValueError> {
        if (1..=999).contains(&code) {
            Ok(Self(code))
        } else {
            Err(ValueError::new("country code", &code.to_string(), "must be 1 to 999"))
        }
    }

    pub fn get(self) -> u16 {
        self.0
    }
}

impl FromStr for CountryCode {
    type Err = ValueError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let digits = s.strip_prefix('+').unwrap_or(s);
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("country code", s, "must be 1 to 3 digits, like 86 or +1"));
        }
        let code: u16 = digits.parse().map_err(|_| ValueError::new("country code", s, "is not a number"))?;
        if digits.starts_with('0') {
            return Err(ValueError::new("country code", s, "cannot start with 0"));
        }
        Self::new(code)
    }
}

impl fmt::Display for CountryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// A phone number in E.164 form: `+` then 8 to 15 digits, the first not 0.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

/// Fewest digits (country code included) of a number we accept as a full phone number.
const MIN_E164_DIGITS: usize = 8;
/// Most digits E.164 allows.
const MAX_E164_DIGITS: usize = 15;

impl E164 {
    /// Normalises a number as people write it: spaces, dashes, dots and parentheses are ignored;
    /// `+` or `00` starts an international number; otherwise the number is national, a single
    /// leading trunk `0` is dropped and `default_country` is put in front.
    ///
    /// `"138 0000 0001"` with country 86 → `+8613800000001`; `"0086-138..."` → the same.
    pub fn normalise(input: &str, default_country: CountryCode) -> Result<Self, ValueError> {
        let mut digits = String::with_capacity(input.len());
        let mut international = false;
        for (i, c) in input.trim().chars().enumerate() {
            match c {
                '0'..='9' => digits.push(c),
                '+' if i == 0 => international = true,
                ' ' | '-' | '.' | '(' | ')' => {}
                _ => {
                    return Err(ValueError::new(
                        "phone number",
                        input,
                        format!("has the character {c:?}, which is not part of a phone number"),
                    ));
                }
            }
        }
        if digits.is_empty() {
            return Err(ValueError::new("phone number", input, "has no digits"));
        }
        if !international {
            if let Some(rest) = digits.strip_prefix("00") {
                digits = rest.to_owned();
            } else {
                let national = digits.strip_prefix('0').unwrap_or(&digits);
                digits = format!("{}{}", default_country.get(), national);
            }
        }
        Self::from_digits(input, &digits)
    }

    /// Parses a number that is already in E.164 form (`+` and digits only), as stored.
    pub fn parse_strict(input: &str) -> Result<Self, ValueError> {
        let digits = input
            .strip_prefix('+')
            .ok_or_else(|| ValueError::new("phone number", input, "must start with + in E.164 form"))?;
        if !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("phone number", input, "must be + followed by digits only"));
        }
        Self::from_digits(input, digits)
    }

    fn from_digits(input: &str, digits: &str) -> Result<Self, ValueError> {
        if digits.starts_with('0') {
            return Err(ValueError::new("phone number", input, "has a country code starting with 0"));
        }
        if digits.len() < MIN_E164_DIGITS || digits.len() > MAX_E164_DIGITS {
            return Err(ValueError::new(
                "phone number",
                input,
                format!(
                    "has {} digits with its country code; E.164 allows {MIN_E164_DIGITS} to {MAX_E164_DIGITS}",
                    digits.len()
                ),
            ));
        }
        Ok(Self(format!("+{digits}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The digits without the leading `+`, as SIP user parts often carry them.
    pub fn digits(&self) -> &str {
        &self.0[1..]
    }
}

impl fmt::Display for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for E164 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "E164({})", self.0)
    }
}

/// An email address: one `@`, a local part of 1–64 characters, a domain with at least one dot.
/// The domain is lower-cased; the local part is kept as written (it may be case-sensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Email(String);

const MAX_EMAIL_CHARS: usize = 254;
const MAX_EMAIL_LOCAL_CHARS: usize = 64;

impl Email {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if s.len() > MAX_EMAIL_CHARS {
            return Err(ValueError::new("email", input, format!("is longer than {MAX_EMAIL_CHARS} characters")));
        }
        let (local, domain) = s.rsplit_once('@').ok_or_else(|| ValueError::new("email", input, "has no @"))?;
        if local.is_empty() || local.len() > MAX_EMAIL_LOCAL_CHARS {
            return Err(ValueError::new(
                "email",
                input,
                format!("needs 1 to {MAX_EMAIL_LOCAL_CHARS} characters before the @"),
            ));
        }
        if local.contains('@') || local.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ValueError::new(
                "email",
                input,
                "has a space, control character or second @ before the domain",
            ));
        }
        let domain = domain.to_ascii_lowercase();
        let labels_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || !c.is_ascii())
            });
        if !labels_ok {
            return Err(ValueError::new("email", input, "has a domain that is not a valid host name"));
        }
        Ok(Self(format!("{local}@{domain}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Generates a validated name type made of lower-case ASCII letters, digits, `_`, `-` and `.`.
macro_rules! slug_name {
    ($(#[$doc:meta])* $name:ident, $what:literal, $max:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Most characters a name may have.
            pub const MAX_CHARS: usize = $max;

            /// Accepts letters in any case and stores them lower-cased.
            pub fn parse(input: &str) -> Result<Self, ValueError> {
                let s = input.trim().to_ascii_lowercase();
                if s.is_empty() || s.len() > Self::MAX_CHARS {
                    return Err(ValueError::new($what, input, format!("must be 1 to {} characters", Self::MAX_CHARS)));
                }
                if !s.starts_with(|c: char| c.is_ascii_alphanumeric()) {
                    return Err(ValueError::new($what, input, "must start with a letter or digit"));
                }
                if let Some(bad) = s.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))) {
                    return Err(ValueError::new($what, input, format!("has {bad:?}; use letters, digits, _, - or .")));
                }
                Ok(Self(s))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValueError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

slug_name!(/// A skill's name, such as `tech_support` or `zh`.
    SkillName, "skill name", 64);
slug_name!(/// A queue's name, such as `premium_support`.
    QueueName, "queue name", 64);
slug_name!(/// A reason code for Away or a disposition code, such as `lunch` or `complaint`.
    ReasonCode, "reason code", 64);
slug_name!(/// A user's login name, such as `supervisor` or `1001`.
    Username, "username", 64);

/// How good an agent is at a skill: 1 (novice) to 10 (expert).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Proficiency(u8);

impl Proficiency {
    pub const MIN: Proficiency = Proficiency(1);
    pub const MAX: Proficiency = Proficiency(10);

    pub fn new(level: i64) -> Result<Self, ValueError> {
        match u8::try_from(level) {
            Ok(l) if (1..=10).contains(&l) => Ok(Self(l)),
            _ => Err(ValueError::new("proficiency", &level.to_string(), "must be 1 to 10")),
        }
    }

    pub fn get(self) -> u8 {
        self.0
    }
}

/// A language tag in the BCP 47 subset Hotline uses: `en`, `zh`, `zh-CN`, `zh-Hans`, `pt-BR`.
/// Normalised case: language lower, script title, region upper.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Language(String);

impl Language {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let mut parts = input.trim().split(['-', '_']);
        let primary = parts.next().unwrap_or_default();
        if !(2..=3).contains(&primary.len()) || !primary.chars().all(|c| c.is_ascii_alphabetic()) {
            return Err(ValueError::new(
                "language",
                input,
                "must start with a 2 or 3 letter language code, like en or zh",
            ));
        }
        let mut tag = primary.to_ascii_lowercase();
        for (i, sub) in parts.enumerate() {
            let normalised = match sub.len() {
                4 if i == 0 && sub.chars().all(|c| c.is_ascii_alphabetic()) => {
                    let mut s = sub.to_ascii_lowercase();
                    s[..1].make_ascii_uppercase();
                    s
                }
                2 if sub.chars().all(|c| c.is_ascii_alphabetic()) => sub.to_ascii_uppercase(),
                3 if sub.chars().all(|c| c.is_ascii_digit()) => sub.to_owned(),
                _ => {
                    return Err(ValueError::new(
                        "language",
                        input,
                        format!("has the subtag {sub:?}, which is not a script or region"),
                    ));
                }
            };
            if i >= 2 {
                return Err(ValueError::new("language", input, "has too many subtags; use language[-Script][-REGION]"));
            }
            tag.push('-');
            tag.push_str(&normalised);
        }
        Ok(Self(tag))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The primary language alone (`zh` for `zh-CN`), for matching an agent's language skill.
    pub fn primary(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An extension that an agent's phone registers as: 2 to 10 digits, such as `1001`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Extension(String);

impl Extension {
    pub fn parse(input: &str) -> Result<Self, ValueError> {
        let s = input.trim();
        if !(2..=10).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ValueError::new("extension", input, "must be 2 to 10 digits"));
        }
        Ok(Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A moment, in milliseconds since the Unix epoch (UTC). Produced by an injected clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_unix_ms(ms: i64) -> Self {
        Self(ms)
    }

    pub const fn unix_ms(self) -> i64 {
        self.0
    }

    /// The time from `earlier` to `self`, zero if `earlier` is later (clocks may step back).
    pub fn since(self, earlier: Timestamp) -> DurationMs {
        DurationMs(u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0))
    }

    pub fn plus(self, d: DurationMs) -> Timestamp {
        Timestamp(self.0.saturating_add(i64::try_from(d.0).unwrap_or(i64::MAX)))
    }
}

/// A length of time in milliseconds. Written in config as `500ms`, `20s`, `5m` or `2h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct DurationMs(u64);

impl DurationMs {
    pub const ZERO: DurationMs = DurationMs(0);

    pub const fn from_ms(ms: u64) -> Self {
        Self(ms)
    }

    pub const fn from_secs(s: u64) -> Self {
        Self(s.saturating_mul(1000))
    }

    pub const fn as_ms(self) -> u64 {
        self.0
    }

    /// Whole seconds, rounded down.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    pub fn as_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl FromStr for DurationMs {
    type Err = ValueError;
    /// `"250ms"`, `"20s"`, `"5m"`, `"2h"`, `"1d"`. A unit is required: a bare number is ambiguous.
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        if number.is_empty() {
            return Err(ValueError::new("duration", input, "must be a number with a unit, like 20s or 500ms"));
        }
        let n: u64 = number.parse().map_err(|_| ValueError::new("duration", input, "is too large"))?;
        let factor = match unit {
            "ms" => 1,
            "s" => 1_000,
            "m" | "min" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "" => return Err(ValueError::new("duration", input, "needs a unit: ms, s, m, h or d")),
            _ => {
                return Err(ValueError::new(
                    "duration",
                    input,
                    format!("has the unknown unit {unit:?}; use ms, s, m, h or d"),
                ));
            }
        };
        n.checked_mul(factor).map(Self).ok_or_else(|| ValueError::new("duration", input, "is too large"))
    }
}

impl fmt::Display for DurationMs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ms if ms % 3_600_000 == 0 && ms > 0 => write!(f, "{}h", ms / 3_600_000),
            ms if ms % 60_000 == 0 && ms > 0 => write!(f, "{}m", ms / 60_000),
            ms if ms % 1_000 == 0 => write!(f, "{}s", ms / 1_000),
            ms => write!(f, "{ms}ms"),
        }
    }
}

/// Longest calendar name, in characters (`[a-z0-9_-]`).
pub const MAX_CALENDAR_NAME_CHARS: usize = 64;

/// Whether `name` is a calendar name: 1 to [`MAX_CALENDAR_NAME_CHARS`] of `[a-z0-9_-]`.
pub fn is_calendar_name(name: &str) -> bool {
    !name.is_empty()
        && name.chars().count() <= MAX_CALENDAR_NAME_CHARS
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cn() -> CountryCode {
        CountryCode::new(86).expect("86 is a country code")
    }

    #[test]
    fn national_number_gets_default_country_code() {
        assert_eq!(E164::normalise("138 0000 0001", cn()).map(|n| n.to_string()), Ok("+8613800000001".into()));
    }

    #[test]
    fn international_prefixes_are_understood() {
        for written in ["+86 138-0000-0001", "0086 13800000001", "+86(138)00000001"] {
            assert_eq!(E164::normalise(written, cn()).map(|n| n.to_string()), Ok("+8613800000001".into()), "{written}");
        }
    }

    #[test]
    fn trunk_zero_is_dropped_from_national_numbers() {
        assert_eq!(E164::normalise("010 1234 5678", cn()).map(|n| n.to_string()), Ok("+861012345678".into()));
    }

    #[test]
    fn letters_and_too_long_numbers_are_refused() {
        assert!(E164::normalise("138abc", cn()).is_err());
        assert!(E164::normalise("+1234567890123456", cn()).is_err());
        assert!(E164::normalise("", cn()).is_err());
        assert!(E164::normalise("+0123456789", cn()).is_err());
        assert!(E164::normalise("1+23", cn()).is_err());
    }

    #[test]
    fn strict_parse_accepts_only_stored_form() {
        assert!(E164::parse_strict("+8613800000001").is_ok());
        assert!(E164::parse_strict("8613800000001").is_err());
        assert!(E164::parse_strict("+86 138").is_err());
    }

    #[test]
    fn email_domain_is_lowercased_and_checked() {
        assert_eq!(Email::parse("Li.Lei@Example.COM").map(|e| e.to_string()), Ok("Li.Lei@example.com".into()));
        for bad in ["nobody", "@example.com", "a@b", "a b@example.com", "a@-x.com", "a@x..com"] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn skill_names_are_lowercase_slugs() {
        assert_eq!(SkillName::parse("Tech_Support").map(|s| s.to_string()), Ok("tech_support".into()));
        assert!(SkillName::parse("").is_err());
        assert!(SkillName::parse("tech support").is_err());
        assert!(SkillName::parse("_x").is_err());
        assert!(SkillName::parse(&"a".repeat(65)).is_err());
    }

    #[test]
    fn proficiency_is_one_to_ten() {
        assert!(Proficiency::new(0).is_err());
        assert_eq!(Proficiency::new(1).map(Proficiency::get), Ok(1));
        assert_eq!(Proficiency::new(10).map(Proficiency::get), Ok(10));
        assert!(Proficiency::new(11).is_err());
        assert!(Proficiency::new(-3).is_err());
    }

    #[test]
    fn language_tags_are_normalised() {
        assert_eq!(Language::parse("zh-cn").map(|l| l.to_string()), Ok("zh-CN".into()));
        assert_eq!(Language::parse("zh_hans").map(|l| l.to_string()), Ok("zh-Hans".into()));
        assert_eq!(Language::parse("EN").map(|l| l.to_string()), Ok("en".into()));
        assert_eq!(Language::parse("zh-CN").map(|l| l.primary().to_owned()), Ok("zh".into()));
        assert!(Language::parse("chinese").is_err());
        assert!(Language::parse("zh-CN-x-y").is_err());
    }

    #[test]
    fn durations_need_units() {
        assert_eq!("20s".parse::<DurationMs>(), Ok(DurationMs::from_secs(20)));
        assert_eq!("250ms".parse::<DurationMs>(), Ok(DurationMs::from_ms(250)));
        assert_eq!("5m".parse::<DurationMs>(), Ok(DurationMs::from_secs(300)));
        assert!("20".parse::<DurationMs>().is_err());
        assert!("s".parse::<DurationMs>().is_err());
        assert!("3 weeks".parse::<DurationMs>().is_err());
        assert!("99999999999999999999s".parse::<DurationMs>().is_err());
        assert_eq!(DurationMs::from_secs(90).to_string(), "90s");
        assert_eq!(DurationMs::from_secs(120).to_string(), "2m");
    }

    #[test]
    fn errors_do_not_echo_unbounded_input() {
        let err = E164::normalise(&"x".repeat(10_000), cn()).unwrap_err();
        assert!(err.to_string().len() < 300);
    }

    proptest::proptest! {
        #[test]
        fn normalise_never_panics_and_output_is_strictly_valid(s in "\\PC{0,40}") {
            if let Ok(n) = E164::normalise(&s, cn()) {
                proptest::prop_assert_eq!(E164::parse_strict(n.as_str()), Ok(n.clone()));
            }
        }

        #[test]
        fn language_and_email_parsers_never_panic(s in "\\PC{0,40}") {
            let _ = Language::parse(&s);
            let _ = Email::parse(&s);
            let _ = s.parse::<DurationMs>();
        }
    }
}
