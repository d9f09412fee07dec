//! Access keys: the viewer's keys (and, for PlatformAdmins, every service-account key, as the API
//! lists them), create one (name, description, lifetime; a service account for PlatformAdmins)
//! with the secret shown on the answer page only, suspend, unsuspend, and revoke after a
//! confirmation page. Everything goes through the access-key API routes as the viewer.
//!
//! The secret is the one credential the console ever puts in a page, on purpose: the person
//! asked for it, and it is shown once. It is not kept anywhere (the API stores no copy, the page
//! is `no-store`), and a create form can be submitted only once (a random form id, remembered in
//! the session when used), so reloading the answer page creates no second key and shows no secret.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use nmp_proto::access_keys::{AccessKeyCreateResponse, AccessKeyListResponse, AccessKeyMetadataResponse};
use serde::Deserialize;
use serde_json::{json, Value};

use super::{notice, poster, viewer, Viewer};
use crate::studio::api::{query, segment, Answer};
use crate::studio::session;
use crate::studio::templates::{page, Layout};
use crate::studio::StudioState;

const API: &str = "/apis/auth/v2/access-keys";
const PAGE_SIZE: u64 = 20;
/// How many used create-form ids a session remembers.
const REMEMBERED_FORMS: usize = 16;

/// Lifetimes the form offers (seconds), those above the server's maximum left out.
const LIFETIMES: &[(u64, &str)] = &[
    (86_400, "1 day"),
    (604_800, "7 days"),
    (2_592_000, "30 days"),
    (7_776_000, "90 days"),
    (31_536_000, "1 year"),
];

pub struct KeyRow {
    pub jti: String,
    pub name: String,
    pub description: String,
    pub principal: String,
    pub status: String,
    pub created_at: String,
    pub expires_at: String,
}

#[derive(Template)]
#[template(path = "studio/access_keys.html")]
pub struct AccessKeysPage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub keys: Vec<KeyRow>,
    pub page: u64,
    pub prev_link: Option<String>,
    pub next_link: Option<String>,
    /// A fresh id for the create form (see the module comment).
    pub form_id: String,
    pub lifetimes: Vec<(String, String)>,
    pub default_lifetime: String,
    /// PlatformAdmins may create keys for service accounts.
    pub service_accounts: bool,
}

#[derive(Template)]
#[template(path = "studio/access_key_created.html")]
pub struct CreatedPage {
    pub layout: Layout,
    pub key: KeyRow,
    pub secret: String,
    pub origin: String,
}

#[derive(Template)]
#[template(path = "studio/access_key_revoke.html")]
pub struct RevokePage {
    pub layout: Layout,
    pub error: Option<String>,
    pub notice: Option<String>,
    pub key: KeyRow,
}

fn row(key: &AccessKeyMetadataResponse) -> KeyRow {
    KeyRow {
        jti: key.jti.clone(),
        name: key.name.clone().unwrap_or_default(),
        description: key.description.clone().unwrap_or_default(),
        principal: key.principal.clone(),
        status: key.status.clone(),
        created_at: key.created_at.clone(),
        expires_at: key.expires_at.clone().unwrap_or_else(|| "never".into()),
    }
}

fn lifetime_label(seconds: u64) -> String {
    match LIFETIMES.iter().find(|(s, _)| *s == seconds) {
        Some((_, label)) => label.to_string(),
        None if seconds.is_multiple_of(86_400) => format!("{} days", seconds / 86_400),
        None => format!("{seconds} seconds"),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct ListParams {
    pub notice: Option<String>,
    pub page: Option<u64>,
}

pub async fn list(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Query(params): Query<ListParams>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let page_number = params.page.unwrap_or(1).max(1);
    render(&studio, &headers, &viewer, page_number, None, notice(params.notice.as_deref()), StatusCode::OK)
        .await
}

async fn render(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    page_number: u64,
    error: Option<String>,
    notice: Option<String>,
    status: StatusCode,
) -> Response {
    let pairs = [("page", page_number.to_string()), ("page_size", PAGE_SIZE.to_string())];
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let answer = viewer.call(studio, Method::GET, &format!("{API}?{}", query(&pairs)), None).await;
    if !answer.ok() {
        return refusal(studio, headers, viewer, &answer, "list access keys");
    }
    let listed: AccessKeyListResponse = match serde_json::from_value(answer.body) {
        Ok(listed) => listed,
        Err(error) => {
            tracing::error!(%error, "studio: unreadable access-key list");
            let failed = Answer { status: StatusCode::INTERNAL_SERVER_ERROR, ..Answer::default() };
            return refusal(studio, headers, viewer, &failed, "list access keys");
        }
    };
    let settings = studio.app.settings.access_keys.as_ref();
    let max = settings.and_then(|s| s.max_expires_in);
    let mut lifetimes: Vec<(String, String)> = LIFETIMES
        .iter()
        .filter(|(seconds, _)| max.is_none_or(|max| *seconds <= max))
        .map(|(seconds, label)| (seconds.to_string(), label.to_string()))
        .collect();
    if max.is_none() {
        lifetimes.push(("never".into(), "never expires".into()));
    }
    let default_lifetime = match settings.and_then(|s| s.default_expires_in) {
        Some(seconds) => format!("server default ({})", lifetime_label(seconds)),
        None if max.is_none() => "server default (never expires)".into(),
        None => "server default".into(),
    };
    let link = |n: u64| format!("/studio/access-keys?page={n}");
    let layout = viewer.layout(studio, "Access keys", "access-keys");
    let service_accounts = layout.platform_admin;
    let template = AccessKeysPage {
        layout,
        error,
        notice,
        keys: listed.data.iter().map(row).collect(),
        page: page_number,
        prev_link: (page_number > 1).then(|| link(page_number - 1)),
        next_link: listed.has_more.then(|| link(page_number + 1)),
        form_id: session::random_token(),
        lifetimes,
        default_lifetime,
        service_accounts,
    };
    viewer.finish(studio, headers, page(status, &template))
}

/// A refusal of the access-key API: the feature being off is explained as such.
fn refusal(
    studio: &StudioState,
    headers: &HeaderMap,
    viewer: &Viewer,
    answer: &Answer,
    action: &str,
) -> Response {
    if answer.body.get("code").and_then(Value::as_str)
        == Some(nmp_proto::access_keys::ACCESS_KEYS_DISABLED_CODE)
    {
        let explained = Answer {
            status: StatusCode::NOT_FOUND,
            asked: None,
            body: json!({"detail": "Access keys are not enabled on this server: an operator turns them on with auth.access_keys.enabled and a signing key (see the access keys documentation)."}),
        };
        return viewer.refusal(studio, headers, &explained, action, None);
    }
    viewer.refusal(studio, headers, answer, action, None)
}

#[derive(Debug, Deserialize)]
pub struct CreateForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    form_id: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    expires: String,
    #[serde(default)]
    service_account: String,
}

impl CreateForm {
    fn body(&self) -> Value {
        let mut body = serde_json::Map::new();
        body.insert("name".into(), json!(self.name.trim()));
        if !self.description.trim().is_empty() {
            body.insert("description".into(), json!(self.description.trim()));
        }
        match self.expires.trim() {
            "" => {}
            "never" => {
                body.insert("expires_in_seconds".into(), Value::Null);
            }
            // The API validates the number and names the field when it is wrong.
            seconds => {
                body.insert("expires_in_seconds".into(), json!(seconds));
            }
        }
        if !self.service_account.trim().is_empty() {
            body.insert("service_account_id".into(), json!(self.service_account.trim()));
        }
        Value::Object(body)
    }
}

pub async fn create(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Form(form): Form<CreateForm>,
) -> Response {
    let mut viewer = match poster(&studio, &headers, &uri, &form.csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    // A form is good for one key: a reload of the answer page (a re-post) finds its id used and
    // lands on the list, with no second key and no secret. Two posts racing each other may both
    // pass (load and save are not one step): two keys, each shown once, which reveals nothing.
    let form_id = form.form_id.trim().to_string();
    if form_id.is_empty() || viewer.session.data.used_forms.contains(&form_id) {
        return Redirect::to("/studio/access-keys?notice=key-shown-once").into_response();
    }
    viewer.session.data.used_forms.push(form_id);
    let excess = viewer.session.data.used_forms.len().saturating_sub(REMEMBERED_FORMS);
    viewer.session.data.used_forms.drain(..excess);
    if let Err(error) = session::save(&studio, &mut viewer.session).await {
        return super::store_failure(error);
    }
    let answer = viewer.call(&studio, Method::POST, API, Some(form.body())).await;
    if !answer.ok() {
        return match answer.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                refusal(&studio, &headers, &viewer, &answer, "create this access key")
            }
            status => render(&studio, &headers, &viewer, 1, Some(answer.detail()), None, status).await,
        };
    }
    let created: AccessKeyCreateResponse = match serde_json::from_value(answer.body) {
        Ok(created) => created,
        Err(error) => {
            tracing::error!(%error, "studio: unreadable access-key create answer");
            let failed = Answer { status: StatusCode::INTERNAL_SERVER_ERROR, ..Answer::default() };
            return refusal(&studio, &headers, &viewer, &failed, "create access keys");
        }
    };
    let key = KeyRow {
        jti: created.jti.clone(),
        name: created.name.clone().unwrap_or_default(),
        description: created.description.clone().unwrap_or_default(),
        principal: created.principal.clone(),
        status: created.status.clone(),
        created_at: created.created_at.clone(),
        expires_at: created.expires_at.clone().unwrap_or_else(|| "never".into()),
    };
    let template = CreatedPage {
        layout: viewer.layout(&studio, "Access key created", "access-keys"),
        key,
        secret: created.token,
        origin: studio.origin(&headers),
    };
    let mut response = viewer.finish(&studio, &headers, page(StatusCode::OK, &template));
    // Never kept by the browser or anything between (the security layer sets the same; this page
    // must not depend on it).
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The key `jti` among the viewer's (the API lists at most 100 a page; a few pages are read).
async fn find(studio: &StudioState, viewer: &Viewer, jti: &str) -> Result<Option<KeyRow>, Answer> {
    for page_number in 1..=20u32 {
        let pairs = [("page", page_number.to_string()), ("page_size", "100".to_string())];
        let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let answer = viewer.call(studio, Method::GET, &format!("{API}?{}", query(&pairs)), None).await;
        if !answer.ok() {
            return Err(answer);
        }
        let Ok(listed) = serde_json::from_value::<AccessKeyListResponse>(answer.body) else {
            return Err(Answer { status: StatusCode::INTERNAL_SERVER_ERROR, ..Answer::default() });
        };
        if let Some(found) = listed.data.iter().find(|k| k.jti == jti) {
            return Ok(Some(row(found)));
        }
        if !listed.has_more {
            break;
        }
    }
    Ok(None)
}

pub async fn confirm_revoke(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(jti): Path<String>,
) -> Response {
    let viewer = match viewer(&studio, &headers, &uri).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    match find(&studio, &viewer, &jti).await {
        Err(answer) => refusal(&studio, &headers, &viewer, &answer, "revoke access keys"),
        Ok(None) => {
            let missing = Answer {
                status: StatusCode::NOT_FOUND,
                asked: None,
                body: json!({"detail": format!("Scoped Access Key {jti} was not found")}),
            };
            viewer.refusal(&studio, &headers, &missing, "revoke access keys", None)
        }
        Ok(Some(key)) => {
            let template = RevokePage {
                layout: viewer.layout(&studio, "Revoke access key", "access-keys"),
                error: None,
                notice: None,
                key,
            };
            viewer.finish(&studio, &headers, page(StatusCode::OK, &template))
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct KeyForm {
    #[serde(default)]
    csrf: String,
}

#[derive(Clone, Copy)]
enum Change {
    Revoke,
    Suspend,
    Unsuspend,
}

async fn change(
    studio: StudioState,
    headers: HeaderMap,
    uri: Uri,
    jti: String,
    csrf: String,
    change: Change,
) -> Response {
    let viewer = match poster(&studio, &headers, &uri, &csrf).await {
        Ok(viewer) => viewer,
        Err(response) => return response,
    };
    let key = format!("{API}/{}", segment(&jti));
    let (method, path, action, done) = match change {
        Change::Revoke => (Method::DELETE, key, "revoke this access key", "key-revoked"),
        Change::Suspend => {
            (Method::POST, format!("{key}/suspend"), "suspend this access key", "key-suspended")
        }
        Change::Unsuspend => {
            (Method::POST, format!("{key}/unsuspend"), "unsuspend this access key", "key-unsuspended")
        }
    };
    let answer = viewer.call(&studio, method, &path, None).await;
    match answer.status {
        status if status.is_success() => {
            Redirect::to(&format!("/studio/access-keys?notice={done}")).into_response()
        }
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
            refusal(&studio, &headers, &viewer, &answer, action)
        }
        status => render(&studio, &headers, &viewer, 1, Some(answer.detail()), None, status).await,
    }
}

pub async fn revoke(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(jti): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    change(studio, headers, uri, jti, form.csrf, Change::Revoke).await
}

pub async fn suspend(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(jti): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    change(studio, headers, uri, jti, form.csrf, Change::Suspend).await
}

pub async fn unsuspend(
    State(studio): State<StudioState>,
    headers: HeaderMap,
    uri: Uri,
    Path(jti): Path<String>,
    Form(form): Form<KeyForm>,
) -> Response {
    change(studio, headers, uri, jti, form.csrf, Change::Unsuspend).await
}

#[cfg(test)]
mod tests {
    use super::CreateForm;
    use serde_json::json;

    fn form(expires: &str, service_account: &str) -> CreateForm {
        CreateForm {
            csrf: String::new(),
            form_id: String::new(),
            name: " ci ".into(),
            description: String::new(),
            expires: expires.into(),
            service_account: service_account.into(),
        }
    }

    #[test]
    fn the_form_becomes_the_api_body() {
        assert_eq!(form("", "").body(), json!({"name": "ci"}));
        assert_eq!(form("never", "").body(), json!({"name": "ci", "expires_in_seconds": null}));
        assert_eq!(
            form("86400", " intake ").body(),
            json!({"name": "ci", "expires_in_seconds": "86400", "service_account_id": "intake"})
        );
    }
}
