//! Just enough HTML reading to drive the test IdP's pages: the page's `nmp-idp-page` and
//! `nmp-idp-error` meta tags and the first form's action and inputs. The IdP's pages are ours
//! (tests/idp/pages.mjs) or oidc-provider's fixed templates, so no general HTML parser is needed.

#[derive(Debug, Default)]
pub(crate) struct Page {
    /// `content` of `<meta name="nmp-idp-page">`: login, consent, device-input, device-confirm,
    /// device-success, error. `None` for oidc-provider's own auto-submitting form_post page.
    pub name: Option<String>,
    pub error: Option<String>,
    pub form: Option<Form>,
}

#[derive(Debug)]
pub(crate) struct Form {
    pub action: String,
    /// Every named `<input>` with its value ("" when it has none), in document order.
    pub fields: Vec<(String, String)>,
}

impl Form {
    pub fn set(&mut self, name: &str, value: &str) {
        match self.fields.iter_mut().find(|(field, _)| field == name) {
            Some((_, existing)) => *existing = value.to_owned(),
            None => self.fields.push((name.to_owned(), value.to_owned())),
        }
    }
}

impl Page {
    pub fn parse(html: &str) -> Page {
        let mut page = Page::default();
        for tag in tags(html, "meta") {
            let attributes = attributes(tag);
            match (attribute(&attributes, "name"), attribute(&attributes, "content")) {
                (Some("nmp-idp-page"), Some(content)) => page.name = Some(content.to_owned()),
                (Some("nmp-idp-error"), Some(content)) => page.error = Some(content.to_owned()),
                _ => {}
            }
        }
        if let Some(start) = html.find("<form") {
            let rest = &html[start..];
            let inner = &rest[..rest.find("</form>").unwrap_or(rest.len())];
            let form_attributes = tags(inner, "form").next().map(attributes).unwrap_or_default();
            let fields = tags(inner, "input")
                .map(attributes)
                .filter_map(|input| {
                    let name = attribute(&input, "name")?.to_owned();
                    Some((name, attribute(&input, "value").unwrap_or_default().to_owned()))
                })
                .collect();
            page.form = Some(Form {
                action: attribute(&form_attributes, "action").unwrap_or_default().to_owned(),
                fields,
            });
        }
        page
    }

    /// A short, single-line excerpt of a page for error messages.
    pub fn describe(html: &str) -> String {
        let flat: String = html.split_whitespace().collect::<Vec<_>>().join(" ");
        flat.chars().take(600).collect()
    }
}

/// The attribute text of every `<name ...>` start tag.
fn tags<'a>(html: &'a str, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
    let open = format!("<{name}");
    let mut rest = html;
    std::iter::from_fn(move || loop {
        let start = rest.find(&open)? + open.len();
        let after = &rest[start..];
        rest = after;
        if !after.starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            continue; // e.g. `<formx`
        }
        let end = tag_end(after);
        rest = &after[end..];
        return Some(&after[..end]);
    })
}

/// Index of the `>` closing a tag, skipping quoted attribute values.
fn tag_end(tag: &str) -> usize {
    let mut quote = None;
    for (index, c) in tag.char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(open), _) if c == open => quote = None,
            (None, '>') => return index,
            _ => {}
        }
    }
    tag.len()
}

fn attributes(tag: &str) -> Vec<(String, String)> {
    let mut result = Vec::new();
    let mut rest = tag.trim_start_matches('/');
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        let name_end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(rest.len());
        if name_end == 0 {
            return result;
        }
        let name = rest[..name_end].to_ascii_lowercase();
        rest = rest[name_end..].trim_start();
        let Some(after_equals) = rest.strip_prefix('=') else {
            result.push((name, String::new()));
            continue;
        };
        let after_equals = after_equals.trim_start();
        let (value, remaining) = match after_equals.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let body = &after_equals[1..];
                let end = body.find(quote).unwrap_or(body.len());
                (&body[..end], body.get(end + 1..).unwrap_or_default())
            }
            _ => {
                let end = after_equals.find(char::is_whitespace).unwrap_or(after_equals.len());
                (&after_equals[..end], &after_equals[end..])
            }
        };
        result.push((name, decode_entities(value)));
        rest = remaining;
    }
}

fn attribute<'a>(attributes: &'a [(String, String)], name: &str) -> Option<&'a str> {
    attributes.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn decode_entities(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meta_form_action_and_inputs() {
        let html = r#"<html><head><meta name="nmp-idp-page" content="device-input">
            <meta name="nmp-idp-error" content="the code &quot;X&quot; was not found"></head><body>
            <form id="op.deviceInputForm" novalidate method="post" action="/device">
              <input type="hidden" name="xsrf" value="a&amp;b"/>
              <input
                type="text" name="user_code" placeholder="Enter code" onfocus="this.select(); this.onfocus = undefined;" autofocus autocomplete="off"></input>
            </form><form action="/other"><input name="ignored" value="1"></form></body></html>"#;
        let page = Page::parse(html);
        assert_eq!(page.name.as_deref(), Some("device-input"));
        assert_eq!(page.error.as_deref(), Some(r#"the code "X" was not found"#));
        let form = page.form.expect("form");
        assert_eq!(form.action, "/device");
        assert_eq!(
            form.fields,
            vec![("xsrf".to_owned(), "a&b".to_owned()), ("user_code".to_owned(), String::new())]
        );
    }

    #[test]
    fn page_without_marker_or_form() {
        let page = Page::parse("<html><body>plain</body></html>");
        assert!(page.name.is_none() && page.error.is_none() && page.form.is_none());
    }
}
