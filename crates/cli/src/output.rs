//! Printing results: table on a terminal, JSON when piped (as the official CLI), or YAML.

use std::io::IsTerminal;

use comfy_table::{presets::UTF8_FULL_CONDENSED, ContentArrangement, Table};
use serde::Serialize;

use crate::cli::OutputFormat;

/// Flag > `NMP_OUTPUT_FORMAT` > JSON when stdout is not a terminal > the context preference > table.
pub fn resolve_format(flag: Option<OutputFormat>, preference: Option<&str>) -> OutputFormat {
    if let Some(format) = flag {
        return format;
    }
    if let Some(format) = std::env::var("NMP_OUTPUT_FORMAT").ok().and_then(|text| parse_format(&text)) {
        return format;
    }
    if !std::io::stdout().is_terminal() {
        return OutputFormat::Json;
    }
    preference.and_then(parse_format).unwrap_or(OutputFormat::Table)
}

fn parse_format(text: &str) -> Option<OutputFormat> {
    match text.trim().to_ascii_lowercase().as_str() {
        "table" => Some(OutputFormat::Table),
        "json" => Some(OutputFormat::Json),
        "yaml" => Some(OutputFormat::Yaml),
        _ => None,
    }
}

/// A column: header and the JSON field it shows.
pub type Column = (&'static str, &'static str);

/// Print `value` (an object or a list of objects) in `format`; tables show `columns`.
pub fn print<T: Serialize>(format: OutputFormat, value: &T, columns: &[Column]) -> anyhow::Result<()> {
    let json = serde_json::to_value(value)?;
    match format {
        OutputFormat::Json => println!("{}", serde_json::to_string_pretty(&json)?),
        OutputFormat::Yaml => print!("{}", serde_yaml_ng::to_string(&json)?),
        OutputFormat::Table => println!("{}", table(&json, columns)),
    }
    Ok(())
}

/// Key/value rows (status screens).
pub fn print_pairs(format: OutputFormat, pairs: &[(String, String)]) -> anyhow::Result<()> {
    match format {
        OutputFormat::Table => {
            let mut table = new_table();
            for (key, value) in pairs {
                table.add_row(vec![key.as_str(), value.as_str()]);
            }
            println!("{table}");
        }
        _ => {
            let map: serde_json::Map<String, serde_json::Value> = pairs
                .iter()
                .map(|(key, value)| (key.clone(), serde_json::Value::String(value.clone())))
                .collect();
            print(format, &map, &[])?;
        }
    }
    Ok(())
}

fn new_table() -> Table {
    let mut table = Table::new();
    table.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic);
    table
}

fn table(json: &serde_json::Value, columns: &[Column]) -> Table {
    let mut table = new_table();
    table.set_header(columns.iter().map(|(header, _)| *header));
    let rows: Vec<&serde_json::Value> = match json {
        serde_json::Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    for row in rows {
        table.add_row(columns.iter().map(|(_, field)| cell(row.get(*field))));
    }
    table
}

fn cell(value: Option<&serde_json::Value>) -> String {
    match value {
        None | Some(serde_json::Value::Null) => String::new(),
        Some(serde_json::Value::String(text)) => text.clone(),
        Some(serde_json::Value::Array(items)) => {
            items.iter().map(|item| cell(Some(item))).collect::<Vec<_>>().join(", ")
        }
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_shows_the_chosen_columns() {
        let rows = serde_json::json!([
            {"principal": "bob@example.com", "roles": ["Viewer", "Editor"], "granted_by": null},
        ]);
        let rendered = table(&rows, &[("PRINCIPAL", "principal"), ("ROLES", "roles")]).to_string();
        assert!(rendered.contains("bob@example.com"));
        assert!(rendered.contains("Viewer, Editor"));
        assert!(!rendered.contains("granted_by"));
    }
}
