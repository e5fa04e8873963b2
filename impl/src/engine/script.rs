//! A script's header directives: comment lines before its first statement that say how to run
//! it, so that a scenario file carries its own flags and every runner (the scenario test, the
//! shell's `mvcheck cql FILE`) runs it the same way.
//!
//! ```text
//! -- semantics: cassandra-3.0      (or current; the flag --semantics)
//! -- build-rate: 1                 (base rows per second, or unlimited; the flag --build-rate)
//! ```
//!
//! Only comment (`--`, `//`) and blank lines before the first statement are the header; a
//! comment line whose word before `:` is not a directive is story text and ignored, so prose
//! such as `-- Rules shown:` is no error. A directive with a bad value is one.

use super::exec::BuildRate;
use super::view::ViewRules;

/// The directives found in a script's header, each with its 1-based line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptHeader {
    /// `-- semantics:`, its canonical name (`current` or `cassandra-3.0`).
    pub semantics: Option<(u32, &'static str)>,
    /// `-- build-rate:`.
    pub build_rate: Option<(u32, BuildRate)>,
}

/// A directive with a value that means nothing: where, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HeaderError {
    pub line: u32,
    pub message: String,
}

impl std::fmt::Display for HeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for HeaderError {}

impl ScriptHeader {
    pub fn parse(src: &str) -> Result<ScriptHeader, HeaderError> {
        let mut header = ScriptHeader::default();
        let src = src.strip_prefix('\u{feff}').unwrap_or(src);
        for (i, raw) in src.lines().enumerate() {
            let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                continue;
            }
            let Some(comment) = trimmed.strip_prefix("--").or_else(|| trimmed.strip_prefix("//")) else {
                break;
            };
            let Some((key, value)) = comment.split_once(':') else {
                continue;
            };
            let value = value.trim();
            let error = |message: String| HeaderError { line, message };
            match key.trim() {
                "semantics" => {
                    let name = semantics_name(value).ok_or_else(|| {
                        error(format!(
                            "unknown semantics '{value}' in `-- semantics:` (current or cassandra-3.0)"
                        ))
                    })?;
                    header.semantics = Some((line, name));
                }
                "build-rate" => {
                    let rate = parse_build_rate(value).map_err(|m| error(format!("`-- build-rate:` {m}")))?;
                    header.build_rate = Some((line, rate));
                }
                _ => {}
            }
        }
        Ok(header)
    }

    /// The view rules the header asks for, if it names any.
    pub fn rules(&self) -> Option<ViewRules> {
        self.semantics
            .map(|(_, name)| rules_named(name).unwrap_or_else(ViewRules::current))
    }
}

/// The canonical name of a semantics, as `--semantics` spells it.
pub fn semantics_name(name: &str) -> Option<&'static str> {
    match name {
        "current" => Some("current"),
        "cassandra-3.0" => Some("cassandra-3.0"),
        _ => None,
    }
}

/// The view rules of a semantics name.
pub fn rules_named(name: &str) -> Option<ViewRules> {
    match semantics_name(name)? {
        "cassandra-3.0" => Some(ViewRules::cassandra_30()),
        _ => Some(ViewRules::current()),
    }
}

/// `unlimited` or a positive whole number of base rows per second.
pub fn parse_build_rate(s: &str) -> Result<BuildRate, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("unlimited") {
        return Ok(BuildRate::Unlimited);
    }
    match s.parse::<u64>() {
        Ok(0) => Err("must be at least 1 row per second (or unlimited)".into()),
        Ok(n) => Ok(BuildRate::RowsPerSecond(n)),
        Err(_) => Err(format!(
            "'{s}' is not a number of rows per second (a whole number from 1, or unlimited)"
        )),
    }
}

impl std::fmt::Display for BuildRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildRate::Unlimited => f.write_str("unlimited"),
            BuildRate::RowsPerSecond(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directives_are_read_from_the_header_only() {
        let h = ScriptHeader::parse(
            "\u{feff}-- story\n-- Rules shown: prose, not a directive\n\n-- semantics: cassandra-3.0\n// build-rate: 5\nSELECT 1;\n-- build-rate: 9\n",
        )
        .unwrap();
        assert_eq!(h.semantics, Some((4, "cassandra-3.0")));
        assert_eq!(h.build_rate, Some((5, BuildRate::RowsPerSecond(5))));
        assert_eq!(h.rules(), Some(ViewRules::cassandra_30()));
        assert_eq!(
            ScriptHeader::parse("SELECT 1;\n-- semantics: cassandra-3.0").unwrap(),
            ScriptHeader::default()
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let e = ScriptHeader::parse("-- x\n-- semantics: cassandra-2.2\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("cassandra-2.2"), "{e}");
        let e = ScriptHeader::parse("-- build-rate: 0").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 1: `-- build-rate:` must be at least 1 row per second (or unlimited)"
        );
        assert!(ScriptHeader::parse("-- build-rate: fast").is_err());
        assert_eq!(parse_build_rate("Unlimited"), Ok(BuildRate::Unlimited));
    }
}
