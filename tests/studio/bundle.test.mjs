// The OFFICIAL Studio bundle (nmp/studio/static of the pinned official nemo-platform wheel,
// fetched by official-bundle.sh) served by the real nmp binary (`studio.bundle_dir`), in headless
// Chromium, signing in through the real test IdP: once per mode. Reference mode: the SPA signs in
// itself and sends bearer tokens. Hardened (bff) mode: our session gates the bundle and
// authenticates its API calls; no token reaches the browser.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, test } from 'node:test';

import {
  assertNoTokenInResponses, freePort, idpLogin, launchBrowser, newContext, officialBundle, screenshotPath,
  seriousViolations, startOfficialStudio,
} from './support.mjs';

let browser;
let bundleDir;
before(async () => {
  bundleDir = officialBundle();
  browser = await launchBrowser();
});
after(async () => { await browser?.close(); });

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
const API = '/apis/entities/v2/workspaces';

/** The Members page of `workspace` shows these rows (principal and role), and the switcher lists `workspaces`. */
async function assertMembersAndSwitcher(page, origin, workspace, rows, workspaces, screenshot) {
  await page.goto(`${origin}/studio/workspaces/${workspace}/members`);
  for (const [principal, role] of rows) {
    const row = page.getByRole('row').filter({ hasText: principal });
    await row.waitFor({ timeout: 30_000 });
    assert.match(await row.textContent(), new RegExp(`${principal.replace('.', '\\.')}\\s*${role}`), `${principal} as ${role}`);
  }
  await page.screenshot({ path: screenshotPath(screenshot), fullPage: true });
  await page.getByRole('button', { name: 'Select workspace' }).click();
  const menu = page.getByRole('menu');
  for (const name of workspaces) {
    await menu.getByRole('menuitem', { name, exact: true }).first().waitFor();
  }
  await page.keyboard.press('Escape');
}

/** A GET of `rawPath` exactly as written (fetch would normalise `..` and `%2e%2e` away). */
function rawGet(origin, rawPath, cookie) {
  return new Promise((resolve, reject) => {
    const request = http.request(`${origin}/`, { path: rawPath, headers: { cookie } }, (response) => {
      let body = '';
      response.on('data', (chunk) => { body += chunk; });
      response.on('end', () => resolve({ status: response.statusCode, body }));
    });
    request.on('error', reject);
    request.end();
  });
}

/** Checks that hold in both modes: layout, markers, fallback, caching, traversal, plugins. */
async function assertServedAsTheReference(origin, cookie = '') {
  const get = (p, init = {}) => fetch(`${origin}${p}`, { redirect: 'manual', ...init, headers: { cookie, ...(init.headers ?? {}) } });
  assert.equal((await get('/')).status, 301);
  assert.equal((await get('/studio')).headers.get('location'), '/studio/');
  const index = await get('/studio/');
  assert.equal(index.status, 200);
  assert.match(index.headers.get('content-type'), /^text\/html/);
  assert.equal(index.headers.get('cache-control'), 'no-cache');
  const csp = index.headers.get('content-security-policy');
  assert.match(csp, /script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/, 'the import map is allowed by its hash');
  assert.doesNotMatch(csp.match(/script-src[^;]*/)[0], /unsafe/);
  assert.equal(index.headers.get('x-content-type-options'), 'nosniff');
  const html = await index.text();
  // A content-hashed asset served unchanged is cached for a year; one with markers is not.
  const entry = html.match(/href="(\/studio\/assets\/axios-[^"]+\.js)"/)[1];
  const script = await get(entry);
  assert.equal(script.headers.get('content-type'), 'text/javascript; charset=utf-8');
  assert.match(script.headers.get('cache-control'), /max-age=31536000, immutable/);
  const etag = script.headers.get('etag');
  assert.equal((await get(entry, { headers: { 'if-none-match': etag } })).status, 304);
  // The SPA's own routes answer index.html; a missing asset is a 404.
  const spaRoute = await get('/studio/workspaces/anything/members');
  assert.equal(spaRoute.status, 200);
  assert.equal(await spaRoute.text(), html);
  // The sign-in callback is the app's own route in reference mode (index.html) and our server's
  // in bff mode (which answers a made-up code with its own error), so only its body is compared.
  const callback = await get('/studio/auth/success?code=x&state=y');
  if (callback.status === 200) assert.equal(await callback.text(), html);
  const missing = await get('/studio/assets/missing-0123abcd.js');
  assert.equal(missing.status, 404);
  assert.deepEqual(await missing.json(), { detail: 'Not Found' });
  // No marker is left, and no path leaves the bundle.
  const chunk = await get(html.match(/href="(\/studio\/assets\/environment-[^"]+\.js)"/)[1]);
  const chunkText = await chunk.text();
  assert.doesNotMatch(chunkText, /STUDIO_UI_/);
  assert.equal(chunk.headers.get('cache-control'), 'no-cache', 'a rewritten chunk changes with the config');
  for (const attempt of ['/studio/..%2f..%2f..%2fetc%2fpasswd', '/studio/%2e%2e/%2e%2e/etc/passwd', '/studio/assets/..%5c..%5cindex.html',
    '/studio/../../etc/passwd', `/studio/${'..%2f'.repeat(12)}proc/self/environ`, '/studio/%2fetc%2fpasswd.txt']) {
    const response = await rawGet(origin, attempt, cookie);
    assert.equal(response.status, 404, attempt);
    assert.doesNotMatch(response.body, /root:|PATH=/, attempt);
  }
  const plugins = await get('/apis/plugins');
  assert.equal(plugins.status, 200);
  assert.deepEqual(await plugins.json(), []);
  return chunkText;
}

describe('official Studio bundle, as the reference (the SPA signs in itself)', () => {
  let nmp; let idp; let context; let page;
  const apiCalls = [];

  before(async () => {
    ({ idp, nmp } = await startOfficialStudio(bundleDir, 'reference'));
    context = await newContext(browser, nmp.url);
    page = await context.newPage();
    page.on('request', (request) => {
      if (new URL(request.url()).pathname.startsWith('/apis/entities/')) {
        apiCalls.push({ method: request.method(), path: new URL(request.url()).pathname, headers: request.headers() });
      }
    });
  });
  after(async () => { await context?.close(); await nmp?.stop(); idp?.stop(); });

  test('bundle served as the reference serves it: markers, SPA fallback, caching, no path traversal, /apis/plugins', async () => {
    const chunk = await assertServedAsTheReference(nmp.url);
    // The SPA's OIDC client: the IdP and the Studio client, substituted into the bundle.
    assert.ok(chunk.includes(idp.issuer) && chunk.includes('nmp-studio'), 'issuer and client id in the environment chunk');
    const csp = (await fetch(`${nmp.url}/studio/`)).headers.get('content-security-policy');
    assert.match(csp, new RegExp(`connect-src 'self' ${idp.issuer.replace(/[.:/]/g, '\\$&')}`));
  });

  test('signs in through the test IdP', async () => {
    const created = page.waitForResponse((r) => r.request().method() === 'POST' && new URL(r.url()).pathname === API, { timeout: 60_000 });
    await page.goto(`${nmp.url}/studio/`);
    await page.waitForURL(`${idp.issuer}/**`);
    await idpLogin(page, 'alice@example.com');
    await page.waitForURL(`${nmp.url}/studio**`);
    assert.equal((await created).status(), 201);
    // As in the reference, the SPA keeps its tokens in localStorage and sends them as bearer tokens.
    const stored = await page.evaluate(() => Object.keys(localStorage).find((k) => k.startsWith('oidc.user:')));
    assert.equal(stored, `oidc.user:${idp.issuer}:nmp-studio`);
    const calls = apiCalls.filter((c) => c.method === 'GET');
    assert.ok(calls.length > 0 && calls.every((c) => /^Bearer eyJ/.test(c.headers.authorization ?? '')), 'API calls carry the bearer token');
    assert.ok(calls.every((c) => c.headers['x-source'] === 'NeMo Studio'));
  });

  test('creates the personal workspace', async () => {
    const token = await page.evaluate((key) => JSON.parse(localStorage.getItem(key)).access_token, `oidc.user:${idp.issuer}:nmp-studio`);
    const response = await fetch(`${nmp.url}${API}/alice`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(response.status, 200);
    const workspace = await response.json();
    assert.equal(workspace.name, 'alice');
    assert.match(workspace.description, /Automatically created workspace for Alice Anders/);
    // Our data, for the next test: Bob joins alice's workspace; a team workspace with alice.
    const post = (p, body) => fetch(`${nmp.url}${p}`, {
      method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
    assert.equal((await post(`${API}/alice/members`, { principal: 'bob@example.com', roles: ['Viewer'] })).status, 201);
    assert.equal((await post(API, { name: 'team-reference' })).status, 201);
  });

  test('shows the workspace switcher and the Members page with our data', async () => {
    await assertMembersAndSwitcher(page, nmp.url, 'alice',
      [['alice@example.com', 'Admin'], ['bob@example.com', 'Viewer']], ['alice', 'team-reference'], 'bundle-reference-members');
  });
});

describe('official Studio bundle, hardened (bff): our session gates it, no token in the browser', () => {
  let nmp; let idp; let context; let page; let attacker; let attackerUrl;

  before(async () => {
    ({ idp, nmp } = await startOfficialStudio(bundleDir, 'bff'));
    context = await newContext(browser, nmp.url);
    page = await context.newPage();
    // A page on another site that tries the API with the victim's cookie, as a form and as a fetch.
    attacker = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" enctype="text/plain" action="${nmp.url}${API}">
        <input name='{"name":"csrf-form","x":"' value='"}'></form>
        <script>
          fetch('${nmp.url}${API}', { method: 'POST', credentials: 'include', headers: { 'X-Source': 'NeMo Studio', 'content-type': 'application/json' }, body: '{"name":"csrf-fetch"}' })
            .catch(() => {}).finally(() => document.getElementById('f').submit());
        </script>`);
    });
    const attackerPort = await freePort();
    await new Promise((r) => attacker.listen(attackerPort, '127.0.0.1', r));
    attackerUrl = `http://localhost:${attackerPort}/`;
  });
  after(async () => { attacker?.close(); await context?.close(); await nmp?.stop(); idp?.stop(); });

  /** An API call from inside the page, as the SPA makes it (same origin, the session cookie). */
  const fromPage = (p, { method = 'GET', body, source = true } = {}) => page.evaluate(async ([p, method, body, source]) => {
    const headers = { 'content-type': 'application/json' };
    if (source) headers['X-Source'] = 'NeMo Studio';
    const response = await fetch(p, { method, headers, body });
    return { status: response.status, body: await response.text() };
  }, [p, method, body === undefined ? undefined : JSON.stringify(body), source]);

  test('the bundle is gated by the session', async () => {
    const page = await fetch(`${nmp.url}/studio/workspaces/alice/members`, { redirect: 'manual' });
    assert.equal(page.status, 303);
    assert.equal(page.headers.get('location'), '/studio/auth/login?return_to=%2Fstudio%2Fworkspaces%2Falice%2Fmembers');
    const asset = await fetch(`${nmp.url}/studio/favicon.svg`);
    assert.equal(asset.status, 401);
    assert.equal((await fetch(`${nmp.url}/studio/assets/missing-0123abcd.js`)).status, 404);
    assert.equal((await fetch(`${nmp.url}${API}`, { headers: { 'x-source': 'NeMo Studio' } })).status, 401);
  });

  test('signs in through the test IdP', async () => {
    await page.goto(`${nmp.url}/studio/workspaces/alice/members`);
    await page.waitForURL(`${idp.issuer}/**`);
    await idpLogin(page, 'alice@example.com');
    await page.waitForURL(`${nmp.url}/studio/workspaces/alice/members`);
    const session = (await context.cookies()).find((c) => c.name === 'nmp-studio');
    assert.ok(session?.httpOnly && session.sameSite === 'Lax', 'an HttpOnly SameSite=Lax session cookie');
    // The SPA runs with its own sign-in off: the marker values carry no IdP.
    const chunk = await assertServedAsTheReference(nmp.url, `nmp-studio=${session.value}`);
    assert.ok(!chunk.includes(idp.issuer) && !chunk.includes('nmp-studio'), 'no IdP settings in the bundle');
  });

  test('creates the personal workspace', async () => {
    const answer = await fromPage(`${API}/alice`);
    assert.equal(answer.status, 200, answer.body);
    assert.equal(JSON.parse(answer.body).created_by, 'u-alice');
    // Our data, written through the session by a call from the page (a mutation through the bridge).
    assert.equal((await fromPage(API, { method: 'POST', body: { name: 'team-bff' } })).status, 201);
  });

  test('shows the workspace switcher and the Members page with our data', async () => {
    // The app's own Add Member form: its POST is authenticated by the session.
    await page.goto(`${nmp.url}/studio/workspaces/alice/members`);
    await page.getByRole('button', { name: 'Add Member' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a Workspace Member' });
    await dialog.getByRole('textbox', { name: 'Email' }).fill('bob@example.com');
    const added = page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith(`${API}/alice/members`));
    await dialog.getByRole('button', { name: 'Add Member' }).click();
    assert.equal((await added).status(), 201);
    await assertMembersAndSwitcher(page, nmp.url, 'alice',
      [['alice@example.com', 'Admin'], ['bob@example.com', 'Viewer']], ['alice', 'team-bff'], 'bundle-bff-members');
  });

  test('the same PDP decides each call: a Viewer is refused an Admin action', async () => {
    const bob = await newContext(browser, nmp.url);
    const bobPage = await bob.newPage();
    await bobPage.goto(`${nmp.url}/studio/workspaces/alice/members`);
    await idpLogin(bobPage, 'bob@example.com');
    await bobPage.waitForURL(`${nmp.url}/studio/workspaces/alice/members`);
    const call = (p, method, body) => bobPage.evaluate(async ([p, method, body]) => {
      const response = await fetch(p, { method, headers: { 'X-Source': 'NeMo Studio', 'content-type': 'application/json' }, body });
      return response.status;
    }, [p, method, body]);
    assert.equal(await call(`${API}/alice/members`, 'GET'), 200);
    assert.equal(await call(`${API}/alice/members`, 'POST', JSON.stringify({ principal: 'carol@example.com', roles: ['Viewer'] })), 403);
    await bob.close();
  });

  test('CSRF: session calls need X-Source and our origin; a cross-site page changes nothing', async () => {
    const withoutHeader = await fromPage(API, { method: 'POST', body: { name: 'no-source' }, source: false });
    assert.equal(withoutHeader.status, 401, 'the cookie alone authenticates nothing');
    const cookie = (await context.cookies()).find((c) => c.name === 'nmp-studio').value;
    const foreign = await fetch(`${nmp.url}${API}`, {
      method: 'POST',
      headers: { cookie: `nmp-studio=${cookie}`, 'x-source': 'NeMo Studio', origin: 'http://localhost:1', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'foreign-origin' }),
    });
    assert.equal(foreign.status, 403);
    assert.match((await foreign.json()).detail, /Cross-site request refused/);
    const attack = await context.newPage();
    // The attacker's form post must really reach our API (and be refused), or the check below
    // would pass for a page that never ran.
    const formPost = attack.waitForResponse(
      (r) => r.url() === `${nmp.url}${API}` && r.request().method() === 'POST' && r.request().resourceType() === 'document',
      { timeout: 15_000 },
    );
    await attack.goto(attackerUrl);
    const refused = (await formPost).status();
    assert.ok([401, 403].includes(refused), `the cross-site form post answered ${refused}`);
    await attack.close();
    const list = JSON.parse((await fromPage(`${API}?page_size=100`)).body).data.map((w) => w.name);
    for (const name of ['no-source', 'foreign-origin', 'csrf-form', 'csrf-fetch']) assert.ok(!list.includes(name), `${name} was created`);
  });

  test('no token in storage, readable cookies or any response body', async () => {
    await page.goto(`${nmp.url}/studio/workspaces/alice/members`);
    await page.getByRole('row').filter({ hasText: 'bob@example.com' }).waitFor();
    const storage = await page.evaluate(() => ({
      local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), cookies: document.cookie,
    }));
    assert.doesNotMatch(storage.local, JWT, 'localStorage');
    assert.doesNotMatch(storage.local, /oidc\./, 'no OIDC state in localStorage');
    assert.doesNotMatch(storage.session, JWT, 'sessionStorage');
    assert.doesNotMatch(storage.cookies, /nmp-studio/, 'the session cookie is not readable by scripts');
    assert.doesNotMatch(storage.cookies, JWT);
    assert.ok(context.bodies.length > 50, 'responses were recorded');
    assertNoTokenInResponses(assert, context);
  });

  test('sign out: our page ends the session, and its cookie no longer calls the API', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'nmp-studio').value;
    await page.goto(`${nmp.url}/studio/auth/sign-out`);
    assert.match(await page.getByTestId('bundle-signed-in-as').textContent(), /alice@example\.com/);
    assert.deepEqual(await seriousViolations(page), [], 'accessibility of the sign-out page');
    // Our session ends first; then RP-initiated logout at the IdP, which asks and sends the browser back.
    await Promise.all([page.waitForURL(`${idp.issuer}/**`), page.getByRole('button', { name: 'Sign out' }).click()]);
    await Promise.all([page.waitForURL(`${nmp.url}/studio/auth/signed-out`), page.click('button[name="logout"]')]);
    const replay = await fetch(`${nmp.url}${API}`, { headers: { cookie: `nmp-studio=${cookie}`, 'x-source': 'NeMo Studio' } });
    assert.equal(replay.status, 401);
  });
});
