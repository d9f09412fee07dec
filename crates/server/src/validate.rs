//! Request validation with the reference's 422 shape: reading JSON bodies field by field
//! (unknown fields refused) and typed query parameters, collecting every problem at once.

use std::collections::BTreeMap;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use nmp_proto::ValidationError;
use serde_json::{json, Map, Value};

use crate::error::ApiError;

pub fn error(kind: &str, loc: &[&str], msg: impl Into<String>, input: Value) -> ValidationError {
    ValidationError {
        kind: kind.to_string(),
        loc: loc.iter().map(|l| Value::String((*l).to_string())).collect(),
        msg: msg.into(),
        input,
        ctx: None,
    }
}

/// A JSON object body being read field by field.
pub struct BodyFields<'a> {
    object: &'a Map<String, Value>,
    whole: &'a Value,
    pub errors: Vec<ValidationError>,
}

impl<'a> BodyFields<'a> {
    /// Start reading; a non-object body is itself an error.
    pub fn new(value: &'a Value) -> Result<Self, ApiError> {
        match value.as_object() {
            Some(object) => Ok(BodyFields { object, whole: value, errors: Vec::new() }),
            None => Err(ApiError::Validation(vec![error(
                "model_attributes_type",
                &["body"],
                "Input should be a valid dictionary or object to extract fields from",
                value.clone(),
            )])),
        }
    }

    pub fn required_string(&mut self, field: &str, max_len: usize) -> Option<String> {
        match self.object.get(field) {
            None => {
                self.errors.push(error("missing", &["body", field], "Field required", self.whole.clone()));
                None
            }
            Some(value) => self.string_value(field, value, max_len),
        }
    }

    /// Absent or `null` gives `None`.
    pub fn optional_string(&mut self, field: &str, max_len: usize) -> Option<String> {
        match self.object.get(field) {
            None | Some(Value::Null) => None,
            Some(value) => self.string_value(field, value, max_len),
        }
    }

    /// Distinguishes absent (`None`) from explicit `null` (`Some(None)`).
    pub fn nullable_string(&mut self, field: &str, max_len: usize) -> Option<Option<String>> {
        match self.object.get(field) {
            None => None,
            Some(Value::Null) => Some(None),
            Some(value) => self.string_value(field, value, max_len).map(Some),
        }
    }

    fn string_value(&mut self, field: &str, value: &Value, max_len: usize) -> Option<String> {
        match value {
            Value::String(text) if text.chars().count() > max_len => {
                let mut e = error(
                    "string_too_long",
                    &["body", field],
                    format!("String should have at most {max_len} characters"),
                    value.clone(),
                );
                e.ctx = Some(json!({"max_length": max_len}));
                self.errors.push(e);
                None
            }
            Value::String(text) => Some(text.clone()),
            other => {
                self.errors.push(error(
                    "string_type",
                    &["body", field],
                    "Input should be a valid string",
                    other.clone(),
                ));
                None
            }
        }
    }

    /// A list of strings; `default` when absent.
    pub fn string_list(
        &mut self,
        field: &str,
        default: Option<Vec<String>>,
        max_items: usize,
        max_len: usize,
    ) -> Option<Vec<String>> {
        let value = match self.object.get(field) {
            None => {
                if default.is_none() {
                    self.errors.push(error(
                        "missing",
                        &["body", field],
                        "Field required",
                        self.whole.clone(),
                    ));
                }
                return default;
            }
            Some(value) => value,
        };
        let Some(items) = value.as_array() else {
            self.errors.push(error(
                "list_type",
                &["body", field],
                "Input should be a valid list",
                value.clone(),
            ));
            return None;
        };
        if items.len() > max_items {
            self.errors.push(error(
                "too_long",
                &["body", field],
                format!("List should have at most {max_items} items"),
                value.clone(),
            ));
            return None;
        }
        let mut out = Vec::with_capacity(items.len());
        for (index, item) in items.iter().enumerate() {
            match item {
                Value::String(text) if text.chars().count() <= max_len => out.push(text.clone()),
                _ => {
                    let mut e = error(
                        "string_type",
                        &["body", field],
                        "Input should be a valid string",
                        item.clone(),
                    );
                    e.loc.push(json!(index));
                    self.errors.push(e);
                }
            }
        }
        Some(out)
    }

    /// Refuse fields not in `known` (typos must not be silently ignored).
    pub fn deny_unknown(&mut self, known: &[&str]) {
        for (key, value) in self.object {
            if !known.contains(&key.as_str()) {
                self.errors.push(error(
                    "extra_forbidden",
                    &["body", key],
                    "Extra inputs are not permitted",
                    value.clone(),
                ));
            }
        }
    }

    pub fn push(&mut self, error: ValidationError) {
        self.errors.push(error);
    }

    pub fn finish<T>(self, value: Option<T>) -> Result<T, ApiError> {
        match value {
            Some(value) if self.errors.is_empty() => Ok(value),
            _ => Err(ApiError::Validation(self.errors)),
        }
    }
}

/// A request body parsed as JSON, within the configured size limit.
pub struct JsonBody(pub Value);

#[derive(Clone, Copy)]
pub struct BodyLimit(pub usize);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request<Body>, _state: &S) -> Result<Self, Self::Rejection> {
        let limit = request.extensions().get::<BodyLimit>().map(|l| l.0).unwrap_or(1024 * 1024);
        let bytes: Bytes = axum::body::to_bytes(request.into_body(), limit).await.map_err(|_| {
            ApiError::PayloadTooLarge(format!("Request body exceeds the limit of {limit} bytes"))
        })?;
        if bytes.is_empty() {
            return Err(ApiError::Validation(vec![error(
                "missing",
                &["body"],
                "Field required",
                Value::Null,
            )]));
        }
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(value) => Ok(JsonBody(value)),
            Err(e) => {
                let mut err = error("json_invalid", &["body"], "JSON decode error", json!({}));
                err.loc.push(json!(e.column()));
                err.ctx = Some(json!({"error": e.to_string()}));
                Err(ApiError::Validation(vec![err]))
            }
        }
    }
}

/// Query parameters, with typed getters that collect 422 errors.
pub struct Query {
    values: BTreeMap<String, Vec<String>>,
    pub errors: Vec<ValidationError>,
}

impl<S: Send + Sync> FromRequestParts<S> for Query {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Query::parse(parts.uri.query().unwrap_or("")))
    }
}

impl Query {
    pub fn parse(raw: &str) -> Query {
        let mut values: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(raw.as_bytes()) {
            values.entry(key.into_owned()).or_default().push(value.into_owned());
        }
        Query { values, errors: Vec::new() }
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.first()).map(String::as_str)
    }

    /// Keys and values of parameters whose name starts with `prefix`.
    pub fn with_prefix<'a>(&'a self, prefix: &'a str) -> impl Iterator<Item = (&'a str, &'a str)> + 'a {
        self.values
            .iter()
            .filter(move |(k, _)| k.starts_with(prefix))
            .filter_map(|(k, v)| v.first().map(|first| (k.as_str(), first.as_str())))
    }

    pub fn integer(&mut self, name: &str, default: u64, min: u64, max: u64) -> u64 {
        let Some(raw) = self.string(name).map(str::to_string) else { return default };
        match raw.trim().parse::<i64>() {
            Ok(n) if n < min as i64 => {
                let mut e = error(
                    "greater_than_equal",
                    &["query", name],
                    format!("Input should be greater than or equal to {min}"),
                    json!(raw),
                );
                e.ctx = Some(json!({"ge": min}));
                self.errors.push(e);
                default
            }
            Ok(n) if n as u64 > max => {
                let mut e = error(
                    "less_than_equal",
                    &["query", name],
                    format!("Input should be less than or equal to {max}"),
                    json!(raw),
                );
                e.ctx = Some(json!({"le": max}));
                self.errors.push(e);
                default
            }
            Ok(n) => n as u64,
            Err(_) => {
                self.errors.push(error(
                    "int_parsing",
                    &["query", name],
                    "Input should be a valid integer, unable to parse string as an integer",
                    json!(raw),
                ));
                default
            }
        }
    }

    pub fn boolean(&mut self, name: &str) -> Option<bool> {
        let raw = self.string(name)?.to_string();
        match raw.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" | "t" | "y" => Some(true),
            "false" | "0" | "no" | "off" | "f" | "n" => Some(false),
            _ => {
                self.errors.push(error(
                    "bool_parsing",
                    &["query", name],
                    "Input should be a valid boolean, unable to interpret input",
                    json!(raw),
                ));
                None
            }
        }
    }

    pub fn finish(self) -> Result<Self, ApiError> {
        if self.errors.is_empty() {
            Ok(self)
        } else {
            Err(ApiError::Validation(self.errors))
        }
    }
}
