//! Plays a user at the IdP the way a browser would: a fresh cookie jar, redirects followed by
//! hand (so a redirect to a client's loopback `redirect_uri` is caught, not fetched), and the
//! IdP's forms filled in and posted. Each call is a new browser, so each call logs in afresh.

use std::time::Duration;

use anyhow::{bail, Context, Result};
use reqwest::{redirect, Method, StatusCode, Url};

use crate::html::Page;

const MAX_STEPS: usize = 25;
const ANY_PASSWORD: &str = "correct horse battery staple";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    Allow,
    Deny,
}

#[derive(Debug)]
pub(crate) enum Finish {
    /// The device flow's "device signed in" page.
    DeviceApproved,
    /// The device flow's page after the user denied consent.
    DeviceDenied,
    /// A redirect to a URL starting with the `stop_at` prefix (the client's redirect_uri).
    Redirected(Url),
}

pub(crate) struct Journey<'a> {
    pub user: &'a str,
    pub decision: Decision,
    /// Typed into the device flow's code form when the journey starts at the bare `/device` page.
    pub user_code: Option<&'a str>,
    /// Stop at a redirect to a URL with this prefix (authorization code flow).
    pub stop_at: Option<&'a str>,
}

pub(crate) async fn play_user(start: Url, journey: Journey<'_>) -> Result<Finish> {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .timeout(Duration::from_secs(15))
        .build()?;
    let mut method = Method::GET;
    let mut url = start;
    let mut form: Vec<(String, String)> = Vec::new();
    let mut trail = Vec::new();

    for _ in 0..MAX_STEPS {
        trail.push(format!("{method} {}", url.path()));
        let request = browser.request(method.clone(), url.clone());
        let request = if method == Method::POST { request.form(&form) } else { request };
        let response = request.send().await.with_context(|| format!("{method} {url}"))?;
        let status = response.status();

        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|value| value.to_str().ok())
                .with_context(|| format!("{status} without Location from {url}"))?;
            let next = url.join(location)?;
            if journey.stop_at.is_some_and(|prefix| next.as_str().starts_with(prefix)) {
                return Ok(Finish::Redirected(next));
            }
            (method, url) = (Method::GET, next);
            continue;
        }

        let html = response.text().await?;
        let page = Page::parse(&html);
        let stuck = |why: &str| {
            anyhow::anyhow!(
                "playing user `{}` at the IdP: {why} (HTTP {status} at {url}; steps: {}): {}",
                journey.user,
                trail.join(" -> "),
                Page::describe(&html)
            )
        };
        if status != StatusCode::OK {
            return Err(stuck("unexpected status"));
        }
        let page_name = page.name.as_deref();
        match (page_name, &page.error) {
            (Some("device-success"), _) => return Ok(Finish::DeviceApproved),
            (Some("device-input" | "error"), Some(error))
                if journey.decision == Decision::Deny
                    && (error.contains("denied") || error.contains("aborted")) =>
            {
                return Ok(Finish::DeviceDenied)
            }
            (Some(_), Some(error)) => return Err(stuck(error)),
            _ => {}
        }
        let mut next_form = page.form.ok_or_else(|| stuck("page has no form"))?;
        match page_name {
            Some("device-input") => {
                let code = journey.user_code.ok_or_else(|| stuck("asked for a user code, none given"))?;
                next_form.set("user_code", code);
            }
            Some("login") => {
                next_form.set("login", journey.user);
                next_form.set("password", ANY_PASSWORD);
            }
            Some("consent") => {
                let decision = match journey.decision {
                    Decision::Allow => "allow",
                    Decision::Deny => "deny",
                };
                next_form.set("decision", decision);
            }
            // device-confirm, and oidc-provider's auto-submitting pages: post as they are.
            Some("device-confirm") | None => {}
            Some(other) => return Err(stuck(&format!("unknown page `{other}`"))),
        }
        url = url.join(&next_form.action)?;
        method = Method::POST;
        form = next_form.fields;
    }
    bail!(
        "playing user `{}` at the IdP: no end after {MAX_STEPS} steps: {}",
        journey.user,
        trail.join(" -> ")
    )
}
