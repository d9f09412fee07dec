// HTML pages of the test IdP. Each page names itself in <meta name="nmp-idp-page"> and reports
// problems in <meta name="nmp-idp-error">, so a test driving the pages over HTTP (nmp-testkit)
// knows where it is without scraping prose. Forms are plain: hidden inputs plus named fields.

const ESCAPES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const htmlEscape = (text) => String(text).replace(/[&<>"']/g, (char) => ESCAPES[char]);

function page(name, title, body, error) {
  return `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8">
  <meta name="nmp-idp-page" content="${name}">
  ${error ? `<meta name="nmp-idp-error" content="${htmlEscape(error)}">` : ''}
  <title>${htmlEscape(title)}</title>
</head>
<body>
  <h1>${htmlEscape(title)}</h1>
  ${error ? `<p class="error">${htmlEscape(error)}</p>` : ''}
  ${body}
</body>
</html>`;
}

export function send(res, html, status = 200) {
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
  res.end(html);
}

export function login(uid, clientId, error) {
  return page('login', `Sign in to ${clientId}`, `
  <form method="post" action="/interaction/${htmlEscape(uid)}">
    <label>Email <input type="text" name="login" autofocus></label>
    <label>Password (any) <input type="password" name="password"></label>
    <button type="submit">Sign in</button>
  </form>`, error);
}

export function consent(uid, clientId, details) {
  const scopes = [
    ...(details.missingOIDCScope ?? []),
    ...Object.values(details.missingResourceScopes ?? {}).flat(),
  ];
  return page('consent', `Authorize ${clientId}`, `
  <p>Scopes: <code class="scopes">${htmlEscape(scopes.join(' '))}</code></p>
  <form method="post" action="/interaction/${htmlEscape(uid)}">
    <button type="submit" name="decision" value="allow">Allow</button>
    <button type="submit" name="decision" value="deny">Deny</button>
  </form>`);
}

// features.deviceFlow.userCodeInputSource: also shows re-render errors (unknown, expired, used code).
export async function deviceInput(ctx, form, _out, err) {
  ctx.type = 'html';
  ctx.body = page('device-input', 'Enter the code shown by your device', `
  ${form}
  <button type="submit" form="op.deviceInputForm">Continue</button>`, err?.message ?? err?.error_description ?? err?.error);
}

export async function deviceConfirm(ctx, form, client, _deviceInfo, userCode) {
  ctx.type = 'html';
  ctx.body = page('device-confirm', `Connect ${client.clientId}?`, `
  <p>Code: <code class="user-code">${htmlEscape(userCode)}</code></p>
  ${form}
  <button type="submit" form="op.deviceConfirmForm">Continue</button>`);
}

export async function deviceSuccess(ctx) {
  ctx.type = 'html';
  ctx.body = page('device-success', 'Device signed in', '<p>You may close this window.</p>');
}

export async function error(ctx, out) {
  ctx.type = 'html';
  ctx.body = page('error', 'Error', `<pre>${htmlEscape(JSON.stringify(out))}</pre>`, `${out.error}: ${out.error_description ?? ''}`);
}
