//! The `method` of a config: a registered method's name and its own options.
//! Written `method = "cbst"` when the defaults suffice, or as a table:
//!
//! ```toml
//! [method]
//! name = "cbst"
//! portion = 0.3
//! ```
//!
//! The options belong to the method ([`crate::algo::methods`]), which parses
//! them itself and rejects unknown keys by name (`method.portoin`).

use serde::de::{DeserializeOwned, Deserializer};
use serde::ser::{SerializeMap, Serializer};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The name of the paper's method, the default.
pub const SFDA_METHOD: &str = "sfda";

/// A method by registered name, with its options (the `[method]` table
/// without `name`).
#[derive(Debug, Clone, PartialEq)]
pub struct MethodConfig {
    /// Registered name (`sfda`, `minent`, a plugin's name...).
    pub name: String,
    /// The method's own options.
    pub options: toml::Table,
}

impl MethodConfig {
    /// Method `name` with its default options.
    pub fn named(name: &str) -> Self {
        MethodConfig {
            name: name.to_string(),
            options: toml::Table::new(),
        }
    }

    /// Whether this is the paper's method.
    pub fn is_sfda(&self) -> bool {
        self.name == SFDA_METHOD
    }

    /// The options parsed into the method's options type `T` (missing keys
    /// take `T`'s defaults when it is `#[serde(default)]`); an unknown key or
    /// a bad value is an [`Error::Config`] at `method.<key>`.
    pub fn parse_options<T: DeserializeOwned>(&self) -> Result<T> {
        let value = toml::Value::Table(self.options.clone());
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            let key = if path.is_empty() || path == "." {
                "method".to_string()
            } else {
                format!("method.{path}")
            };
            Error::Config {
                key,
                msg: format!("{} (method '{}')", e.into_inner(), self.name),
            }
        })
    }

    /// An [`Error::Config`] at `method.<key>` for method option checks.
    pub fn bad_option(&self, key: &str, msg: impl Into<String>) -> Error {
        Error::Config {
            key: format!("method.{key}"),
            msg: format!("{} (method '{}')", msg.into(), self.name),
        }
    }
}

impl Default for MethodConfig {
    fn default() -> Self {
        MethodConfig::named(SFDA_METHOD)
    }
}

impl Serialize for MethodConfig {
    /// A bare name when the options are empty (`method = "minent"`), else a
    /// table with `name` first.
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if self.options.is_empty() {
            return s.serialize_str(&self.name);
        }
        let mut m = s.serialize_map(Some(self.options.len() + 1))?;
        m.serialize_entry("name", &self.name)?;
        for (k, v) in &self.options {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

impl<'de> Deserialize<'de> for MethodConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Name(String),
            Table(toml::Table),
        }
        match Form::deserialize(d).map_err(|_| {
            D::Error::custom(
                "expected a method name (`method = \"minent\"`) or a table with `name`",
            )
        })? {
            Form::Name(name) => Ok(MethodConfig::named(&name)),
            Form::Table(mut t) => match t.remove("name") {
                Some(toml::Value::String(name)) => Ok(MethodConfig { name, options: t }),
                Some(other) => Err(D::Error::custom(format!(
                    "`name` must be a string, got {}",
                    other.type_str()
                ))),
                None => Err(D::Error::custom(
                    "the [method] table needs `name = \"...\"` (a registered method)",
                )),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize, PartialEq, Default)]
    #[serde(deny_unknown_fields, default)]
    struct Opts {
        portion: f64,
    }

    #[derive(Debug, Serialize, Deserialize)]
    struct Holder {
        method: MethodConfig,
    }

    #[test]
    fn a_name_or_a_table_round_trips_and_options_are_the_methods() {
        let h: Holder = toml::from_str("method = \"minent\"").unwrap();
        assert_eq!(h.method, MethodConfig::named("minent"));
        assert_eq!(toml::to_string(&h).unwrap().trim(), "method = \"minent\"");
        let h: Holder = toml::from_str("[method]\nname = \"cbst\"\nportion = 0.3\n").unwrap();
        assert_eq!(h.method.name, "cbst");
        assert_eq!(h.method.parse_options::<Opts>().unwrap().portion, 0.3);
        let back: Holder = toml::from_str(&toml::to_string(&h).unwrap()).unwrap();
        assert_eq!(back.method, h.method);
        let h: Holder = toml::from_str("[method]\nname = \"cbst\"\nportoin = 0.3\n").unwrap();
        let e = h.method.parse_options::<Opts>().unwrap_err().to_string();
        assert!(e.contains("portoin") && e.contains("cbst"), "{e}");
        assert!(toml::from_str::<Holder>("[method]\nportion = 1\n").is_err());
    }
}
