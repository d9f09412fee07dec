//! HTTP routes, one file per resource. Each handler validates its input, calls the store, keeps the
//! access index in step with the write, and converts to wire types.

pub mod access_keys;
pub mod audit;
pub mod authn;
pub mod authz;
pub mod bundle;
pub mod discovery;
pub mod health;
pub mod iam;
pub mod insight;
pub mod members;
pub mod projects;
pub mod workspaces;

use nmp_core::filter::Filter;
use nmp_store::{ListQuery, Sort, SortField};
use serde_json::json;

use crate::error::{ApiError, ApiResult};
use crate::validate::{error, Query};

/// Page, page size, sort and filter of an entity list, validated as the reference does.
pub(crate) struct ListParams {
    pub query: ListQuery,
    pub sort_text: String,
}

pub(crate) fn list_params(
    mut query: Query,
    default_page_size: u64,
    default_sort: &str,
    sortable: &[SortField],
) -> ApiResult<ListParams> {
    let page = query.integer("page", 1, 1, u64::from(u32::MAX));
    let page_size = query.integer("page_size", default_page_size, 1, 1000);
    let sort_text = query.string("sort").unwrap_or(default_sort).to_string();
    let sort = match Sort::parse(&sort_text, sortable) {
        Some(sort) => sort,
        None => {
            let allowed: Vec<String> = sortable
                .iter()
                .flat_map(|f| {
                    let name = match f {
                        SortField::CreatedAt => "created_at",
                        SortField::UpdatedAt => "updated_at",
                        SortField::Name => "name",
                    };
                    [format!("'{name}'"), format!("'-{name}'")]
                })
                .collect();
            let mut e = error(
                "enum",
                &["query", "sort"],
                format!("Input should be {}", allowed.join(", ")),
                json!(sort_text),
            );
            e.ctx = Some(json!({"expected": allowed.join(", ")}));
            query.errors.push(e);
            Sort { field: SortField::CreatedAt, descending: true }
        }
    };
    let query = query.finish()?;
    let filter = parse_filter(&query)?;
    Ok(ListParams { query: ListQuery { page, page_size, sort, filter }, sort_text })
}

/// The `filter` parameter in any of its spellings; 400 `Invalid filter query: ...` when malformed.
pub(crate) fn parse_filter(query: &Query) -> ApiResult<Option<Filter>> {
    let invalid = |m: String| ApiError::BadRequest(format!("Invalid filter query: {m}"));
    if let Some(text) = query.string("filter") {
        return Filter::parse(text).map(Some).map_err(|e| invalid(e.to_string()));
    }
    let mut pairs = Vec::new();
    for (key, value) in query.with_prefix("filter[") {
        let inner = &key["filter".len()..];
        let parts: Vec<&str> =
            inner.split(']').filter(|p| !p.is_empty()).map(|p| p.trim_start_matches('[')).collect();
        match parts.as_slice() {
            [field] => pairs.push((field.to_string(), String::new(), value.to_string())),
            [field, op] => pairs.push((field.to_string(), op.to_string(), value.to_string())),
            _ => return Err(invalid(format!("cannot read `{key}`"))),
        }
    }
    if pairs.is_empty() {
        return Ok(None);
    }
    Filter::from_brackets(&pairs).map(Some).map_err(|e| invalid(e.to_string()))
}

pub(crate) fn page_of<T>(items: Vec<T>, total: u64, params: &ListParams) -> nmp_proto::Page<T> {
    nmp_proto::Page {
        pagination: nmp_proto::PaginationData::new(
            params.query.page,
            params.query.page_size,
            items.len() as u64,
            total,
        ),
        data: items,
        sort: Some(params.sort_text.clone()),
        filter: params.query.filter.as_ref().map(Filter::to_json),
    }
}
