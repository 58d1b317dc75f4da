//! Parsing TOML config files into typed values, with errors that name the
//! dotted key and the line (`config error at 'student_optim.lr': invalid
//! type: string "x", expected f64 (tiny.toml, line 2)`), not a byte offset.

use serde::de::DeserializeOwned;

use crate::{Error, Result};

/// Parses `text` (from `origin`, a file name for messages) into `T`.
pub fn parse<T: DeserializeOwned>(text: &str, origin: &str) -> Result<T> {
    let at = |span: Option<std::ops::Range<usize>>| match span {
        Some(s) => format!(" ({origin}, line {})", line_of(text, s.start)),
        None => format!(" ({origin})"),
    };
    let de = toml::de::Deserializer::parse(text).map_err(|e| Error::Config {
        key: origin.to_string(),
        msg: format!("{}{}", e.message().trim_end(), at(e.span())),
    })?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let key = e.path().to_string();
        let inner = e.into_inner();
        let key = if key.is_empty() || key == "." {
            origin.to_string()
        } else {
            key
        };
        Error::Config {
            key,
            msg: format!("{}{}", inner.message().trim_end(), at(inner.span())),
        }
    })
}

/// 1-based line of byte `offset`.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        lr: f64,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Outer {
        iterations: usize,
        optim: Inner,
    }

    #[test]
    fn type_errors_and_unknown_keys_name_the_key_and_line() {
        let e = parse::<Outer>("iterations = 3\n[optim]\nlr = \"x\"\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("'optim.lr'") && e.contains("a.toml, line 3"),
            "{e}"
        );
        let e = parse::<Outer>("iterations = \"ten\"\n", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'iterations'") && e.contains("line 1"), "{e}");
        let e = parse::<Outer>(
            "iterations = 3\n[optim]\nlr = 1.0\nmomentum = 2\n",
            "a.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("momentum") && e.contains("line 4"), "{e}");
        let e = parse::<Outer>("iterations = [", "a.toml")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a.toml"), "{e}");
    }
}
