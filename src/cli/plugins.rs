//! `sfda plugins`: every registered component, built in or from plugins.

use std::fmt::Write as _;
use std::io::Write as _;

use clap::Args;
use sfda_core::dispatch;
use sfda_core::registry::ComponentInfo;

use super::common::PluginArgs;

/// Arguments of `sfda plugins`.
#[derive(Debug, Args)]
pub struct PluginsArgs {
    #[command(flatten)]
    plugins: PluginArgs,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// Lists the registries.
pub fn run(a: PluginsArgs) -> anyhow::Result<()> {
    a.plugins.load(&[])?;
    let rows = dispatch::components();
    let mut text = String::new();
    if a.json {
        let v: Vec<_> = rows.iter().map(json_row).collect();
        writeln!(text, "{}", serde_json::to_string_pretty(&v)?)?;
    } else {
        table(&rows, &mut text)?;
    }
    // A closed pipe (`sfda plugins | head`) is not an error.
    match std::io::stdout().lock().write_all(text.as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

fn table(rows: &[ComponentInfo], out: &mut String) -> std::fmt::Result {
    let width =
        |f: fn(&ComponentInfo) -> usize, min: usize| rows.iter().map(f).max().unwrap_or(0).max(min);
    let wn = width(|r| r.name.len(), 4);
    let wv = width(|r| r.version.len(), 7);
    writeln!(
        out,
        "{:<wn$}  {:<7}  {:<wv$}  {:<12}  origin",
        "name", "kind", "version", "backends"
    )?;
    for r in rows {
        let backends = if r.backends.is_empty() {
            "all".to_string()
        } else {
            r.backends.join(",")
        };
        writeln!(
            out,
            "{:<wn$}  {:<7}  {:<wv$}  {:<12}  {}",
            r.name,
            r.kind.as_str(),
            r.version,
            backends,
            r.origin
        )?;
    }
    Ok(())
}

fn json_row(r: &ComponentInfo) -> serde_json::Value {
    serde_json::json!({
        "name": r.name,
        "kind": r.kind.as_str(),
        "version": r.version,
        "origin": r.origin.to_string(),
        "backends": r.backends,
        "summary": r.summary,
    })
}
