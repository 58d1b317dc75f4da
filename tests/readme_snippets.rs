//! The README says what the code does: every TOML snippet in README.md
//! parses as an adaptation config with sfda's own parser (unknown keys are
//! errors there), every distillation-loss option table in it builds its
//! loss, and every JSON snippet is a valid checkpoint sidecar.

use std::path::Path;

use sfda_backend_tch::TchBackend;
use sfda_core::algo::AdaptConfig;
use sfda_core::checkpoint::parse_meta;
use sfda_core::registry::make_loss;

/// The fenced blocks of `lang` in `text`, with their first line number.
fn blocks(text: &str, lang: &str) -> Vec<(usize, String)> {
    let fence = format!("```{lang}");
    let mut out = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_end() == fence => current = Some((i + 2, String::new())),
            Some(_) if line.trim_end() == "```" => out.extend(current.take()),
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    assert!(current.is_none(), "unterminated ```{lang} block");
    out
}

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

#[test]
fn every_toml_snippet_is_a_valid_config() {
    let text = readme();
    let snippets = blocks(&text, "toml");
    assert!(!snippets.is_empty(), "README.md has no ```toml snippet");
    for (line, body) in snippets {
        let origin = format!("README.md line {line}");
        let cfg = AdaptConfig::from_toml(&body, &origin).unwrap_or_else(|e| panic!("{e}"));
        for name in cfg.losses.keys() {
            make_loss::<TchBackend>(&format!("losses.{name}"), name, &cfg.loss_options(name))
                .unwrap_or_else(|e| panic!("{origin}: {e}"));
        }
    }
}

#[test]
fn every_json_snippet_is_a_valid_sidecar() {
    let text = readme();
    let snippets = blocks(&text, "json");
    assert!(!snippets.is_empty(), "README.md has no ```json snippet");
    for (line, body) in snippets {
        let origin = format!("README.md line {line}");
        let meta = parse_meta(Path::new(&origin), &body).unwrap_or_else(|e| panic!("{e}"));
        sfda_core::net::arch_spec(&meta.arch).unwrap_or_else(|e| panic!("{origin}: {e}"));
    }
}

#[test]
fn a_wrong_key_in_a_snippet_would_fail() {
    // The check above can fail: the key the README once documented wrongly.
    let e = AdaptConfig::from_toml("[losses.dad_ss]\nfeature_scale = 1.0\n", "x")
        .ok()
        .map(|cfg| {
            make_loss::<TchBackend>("losses.dad_ss", "dad_ss", &cfg.loss_options("dad_ss"))
                .err()
                .map(|e| e.to_string())
        });
    let msg = e.flatten().expect("feature_scale must be refused");
    assert!(msg.contains("feature_scale"), "{msg}");
}
