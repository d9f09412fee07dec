// Studio in a real browser (headless Chromium via playwright-core) against the real nmp binary
// and the real test IdP. One browser, several contexts (one per person). Each flow of the console
// is a named test; security cases carry their catalog IDs (WEB-01..WEB-09, see
// docs/test-catalog.md). Tests in a `describe` run in order and share its servers.

import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  assertNoTokenInResponses, freePort, idpLogin, launchBrowser, newContext, screenshotPath,
  seriousViolations, startIdp, startNmp,
} from './support.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

/** Visit, assert the security headers (WEB-07) and the axe check, optionally screenshot. */
async function visit(page, url, { screenshot } = {}) {
  const response = await page.goto(url);
  await checkPage(page, response, { screenshot });
  return response;
}

async function checkPage(page, response, { screenshot } = {}) {
  const headers = response.headers();
  const csp = headers['content-security-policy'] ?? '';
  assert.match(csp, /frame-ancestors 'none'/, `CSP of ${page.url()}`);
  const scriptSrc = (csp.match(/script-src ([^;]*)/) ?? [, ''])[1];
  assert.ok(!/unsafe-inline|unsafe-eval/.test(scriptSrc) && !/default-src[^;]*unsafe/.test(csp), `CSP allows unsafe script: ${csp}`);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['referrer-policy'], 'same-origin');
  assert.deepEqual(await seriousViolations(page), [], `accessibility of ${page.url()}`);
  assert.equal(await page.evaluate(() => window.__xss), undefined, `a script payload ran on ${page.url()}`);
  if (screenshot) await page.screenshot({ path: screenshotPath(screenshot), fullPage: true });
}

async function submit(page, formSelector) {
  const [response] = await Promise.all([
    page.waitForNavigation(),
    page.locator(`${formSelector} button[type="submit"]`).first().click(),
  ]);
  return response;
}

describe('OIDC sign-in against the test IdP', () => {
  let nmp; let idp; let attacker; let attackerUrl;
  const people = {};
  let successUrl; // a completed callback URL (code and state), for the replay tests

  before(async () => {
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    idp = await startIdp([origin]);
    // Access keys on, signed with a throwaway RSA key.
    const keyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-studio-signing-'));
    const signingKey = path.join(keyDir, 'signing.pem');
    const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    fs.writeFileSync(signingKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    nmp = await startNmp({
      port,
      config: `auth:
  enabled: true
  admin_email: admin@example.com
  seed_default_workspace_editor: false
  access_keys:
    enabled: true
  token_signing:
    private_key_file: ${signingKey}
  oidc:
    enabled: true
    issuer: ${idp.issuer}
    client_id: nemo-cli
    audience: nmp-api
studio:
  client_id: nmp-studio
`,
    });
    // A page on another origin that posts a form to the console as soon as it loads (WEB-05).
    attacker = http.createServer((req, res) => {
      res.setHeader('content-type', 'text/html');
      res.end(`<!doctype html><form id="f" method="post" action="${nmp.url}/studio/workspaces">
        <input name="name" value="csrf-victim"><input name="csrf" value="guess"></form>
        <script>document.getElementById('f').submit()</script>`);
    });
    const attackerPort = await freePort();
    await new Promise((r) => attacker.listen(attackerPort, '127.0.0.1', r));
    attackerUrl = `http://localhost:${attackerPort}/`;
  });
  after(async () => {
    for (const person of Object.values(people)) await person.context.close();
    attacker?.close();
    await nmp?.stop();
    idp?.stop();
  });

  async function signIn(name) {
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    page.on('request', (request) => {
      if (request.url().startsWith(`${nmp.url}/studio/auth/success`)) successUrl = request.url();
    });
    await page.goto(`${nmp.url}/studio/`);
    // Before signing in the browser holds only an anonymous session.
    const before = (await context.cookies()).find((c) => c.name === 'nmp-studio')?.value;
    await idpLogin(page, `${name}@example.com`);
    await page.waitForURL(`${nmp.url}/studio/**`);
    const after = (await context.cookies()).find((c) => c.name === 'nmp-studio')?.value;
    people[name] = { context, page, before, after };
    return people[name];
  }

  test('sign in through the test IdP login page', async () => {
    const { page, before, after } = await signIn('alice');
    assert.equal(new URL(page.url()).pathname, '/studio/');
    await assert.doesNotReject(page.getByTestId('signed-in-as').filter({ hasText: 'alice@example.com' }).waitFor());
    // The first sign-in created the personal workspace (the email's local part).
    await page.getByRole('link', { name: 'alice', exact: true }).waitFor();
    await checkPage(page, await page.reload(), { screenshot: 'workspaces' });
    // WEB-06: the session identifier changed at sign-in.
    assert.ok(before && after && before !== after, 'the session cookie was not replaced at sign-in');
  });

  test('WEB-01 session cookie is HttpOnly, SameSite=Lax, Path=/', async () => {
    const cookies = await people.alice.context.cookies();
    const session = cookies.find((c) => c.name === 'nmp-studio');
    assert.ok(session, 'no session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(session.path, '/');
    // Served over http here: Secure and __Host- apply over https (unit-tested in the server).
  });

  test('create a workspace', async () => {
    const { page } = people.alice;
    await visit(page, `${nmp.url}/studio/`);
    await page.fill('#name', 'team-a');
    await page.fill('#description', 'Team A <script>window.__xss=1</script><img src=x onerror="window.__xss=1">');
    const response = await submit(page, 'form[action="/studio/workspaces"]');
    await checkPage(page, response);
    assert.equal(new URL(page.url()).pathname, '/studio/workspaces/team-a');
    await page.getByTestId('notice').filter({ hasText: 'Workspace created.' }).waitFor();
    // WEB-08: the payload is shown as text and did not run.
    assert.match(await page.getByTestId('workspace-description').textContent(), /<script>window.__xss=1<\/script>/);
    assert.match(await page.getByTestId('members').textContent(), /alice@example\.com\s*Admin/);
  });

  test('add a member', async () => {
    const { page } = people.alice;
    await page.fill('#principal', 'bob@example.com');
    await page.selectOption('#role', 'Viewer');
    await checkPage(page, await submit(page, 'form[action="/studio/workspaces/team-a/members"]'), { screenshot: 'workspace' });
    await page.getByTestId('notice').filter({ hasText: 'Member added.' }).waitFor();
    assert.match(await page.getByTestId('members').textContent(), /bob@example\.com\s*Viewer/);
  });

  test('a member in a second context sees only what they may see, and a forbidden action is explained', async () => {
    const { page } = await signIn('bob');
    const listed = await page.getByTestId('workspaces').locator('tbody a').allTextContents();
    assert.ok(listed.includes('team-a'), `bob should see team-a: ${listed}`);
    assert.ok(listed.includes('bob'), `bob's personal workspace: ${listed}`);
    assert.ok(!listed.includes('alice'), `bob must not see alice's personal workspace: ${listed}`);
    assert.equal(await page.getByRole('link', { name: 'Platform roles' }).count(), 0);
    await visit(page, `${nmp.url}/studio/workspaces/team-a`);
    await page.fill('#principal', 'carol@example.com');
    const response = await submit(page, 'form[action="/studio/workspaces/team-a/members"]');
    assert.equal(response.status(), 403);
    await checkPage(page, response, { screenshot: 'forbidden' });
    const explanation = await page.getByTestId('explanation').textContent();
    assert.match(explanation, /cannot add members in workspace “team-a”/);
    assert.match(explanation, /Your roles there: Viewer/);
    // Nothing changed.
    await visit(page, `${nmp.url}/studio/workspaces/team-a`);
    assert.doesNotMatch(await page.getByTestId('members').textContent(), /carol/);
  });

  test('why can\'t I…? on My access: a denial with its rule and remedy, and an allowed action', async () => {
    const { page } = people.bob;
    // From a refusal: the explanation page links to the full answer about that very request.
    await visit(page, `${nmp.url}/studio/workspaces/team-a`);
    await page.fill('#principal', 'carol@example.com');
    assert.equal((await submit(page, 'form[action="/studio/workspaces/team-a/members"]')).status(), 403);
    await Promise.all([page.waitForNavigation(), page.getByTestId('why-link').click()]);
    assert.equal(new URL(page.url()).pathname, '/studio/me');
    assert.equal(new URL(page.url()).searchParams.get('method'), 'POST');
    assert.equal(new URL(page.url()).searchParams.get('path'), '/apis/entities/v2/workspaces/team-a/members');
    assert.equal(await page.getByTestId('why-verdict').textContent(), 'Not allowed');
    assert.match(await page.getByTestId('why-summary').textContent(), /needs `workspaces\.members\.create` in `team-a`/);
    // Asked on My access by picking an action and a workspace.
    await visit(page, `${nmp.url}/studio/me`);
    await page.selectOption('#why-action', 'add-member');
    await page.fill('#why-workspace', 'team-a');
    await checkPage(page, await submit(page, '[data-testid="why-action-form"]'), { screenshot: 'why-cant-i' });
    assert.equal(await page.getByTestId('why-verdict').textContent(), 'Not allowed');
    assert.match(await page.getByTestId('why-answer').textContent(), /POST \/apis\/entities\/v2\/workspaces\/team-a\/members/);
    const summary = await page.getByTestId('why-summary').textContent();
    assert.match(summary, /needs `workspaces\.members\.create` in `team-a`/);
    assert.match(summary, /holds Viewer through/);
    assert.equal(await page.getByTestId('why-rule').textContent(), 'MissingPermissions');
    const remedy = await page.getByTestId('why-remedy').textContent();
    assert.match(remedy, /Ask an Admin of “team-a” \(or a PlatformAdmin\) to give “[^”]+” the Admin role there/);
    assert.match(remedy, /nemo workspaces members create --workspace team-a --principal \S+ --roles Admin/);
    // An allowed action says so.
    await page.selectOption('#why-action', 'view');
    await page.fill('#why-workspace', 'team-a');
    await checkPage(page, await submit(page, '[data-testid="why-action-form"]'));
    assert.equal(await page.getByTestId('why-verdict').textContent(), 'Allowed');
    assert.match(await page.getByTestId('why-summary').textContent(), /^allowed \(RoleGrants\)/);
    assert.equal(await page.getByTestId('why-remedy').count(), 0);
    // Any request by method and path; a payload in it stays text.
    await page.locator('details summary').click();
    await page.selectOption('#why-method', 'DELETE');
    await page.fill('#why-path', '/apis/entities/v2/workspaces/team-a');
    await checkPage(page, await submit(page, '[data-testid="why-request-form"]'));
    assert.equal(await page.getByTestId('why-verdict').textContent(), 'Not allowed');
    assert.match(await page.getByTestId('why-summary').textContent(), /needs `workspaces\.delete` in `team-a`/);
    await visit(page, `${nmp.url}/studio/me?method=GET&path=${encodeURIComponent('/<img src=x onerror="window.__xss=1">')}`);
    assert.match(await page.getByTestId('why-answer').textContent(), /<img src=x onerror=/);
    // An action that needs a workspace, asked without one, says what is missing.
    await visit(page, `${nmp.url}/studio/me?action=delete&workspace=`);
    assert.match(await page.getByTestId('why-error').textContent(), /Name the workspace in which you want to delete the workspace/);
  });

  test('the last Admin cannot be demoted, and the page says so', async () => {
    const { page } = people.alice;
    await visit(page, `${nmp.url}/studio/workspaces/team-a`);
    const row = page.getByTestId('members').locator('tr', { hasText: 'alice@example.com' });
    await row.locator('select').selectOption('Viewer');
    const [response] = await Promise.all([page.waitForNavigation(), row.getByRole('button', { name: 'Change' }).click()]);
    assert.equal(response.status(), 409);
    await checkPage(page, response);
    assert.match(await page.getByTestId('error').textContent(), /last Admin/i);
  });

  test('WEB-09 change and remove roles: effective on the member\'s next page load', async () => {
    const alice = people.alice.page; const bob = people.bob.page;
    await visit(alice, `${nmp.url}/studio/workspaces/team-a`);
    const row = alice.getByTestId('members').locator('tr', { hasText: 'bob@example.com' });
    await row.locator('select').selectOption('Editor');
    await Promise.all([alice.waitForNavigation(), row.getByRole('button', { name: 'Change' }).click()]);
    await alice.getByTestId('notice').filter({ hasText: 'Role changed.' }).waitFor();
    await visit(bob, `${nmp.url}/studio/me`, { screenshot: 'my-access' });
    assert.match(await bob.getByTestId('my-roles').textContent(), /team-a\s*Editor/);

    const bobRow = alice.getByTestId('members').locator('tr', { hasText: 'bob@example.com' });
    await Promise.all([alice.waitForNavigation(), bobRow.getByRole('button', { name: /Remove/ }).click()]);
    await alice.getByTestId('notice').filter({ hasText: 'Member removed.' }).waitFor();
    const response = await bob.goto(`${nmp.url}/studio/workspaces/team-a`);
    assert.ok([403, 404].includes(response.status()), `bob still reaches team-a: ${response.status()}`);
    await checkPage(bob, response);
    await visit(bob, `${nmp.url}/studio/`);
    assert.ok(!(await bob.getByTestId('workspaces').locator('tbody a').allTextContents()).includes('team-a'));
  });

  test('platform role bindings are for PlatformAdmins', async () => {
    const admin = await signIn('admin');
    await admin.page.getByRole('link', { name: 'Platform roles' }).click();
    await admin.page.waitForURL('**/studio/platform');
    await checkPage(admin.page, await admin.page.reload(), { screenshot: 'platform' });
    assert.match(await admin.page.getByTestId('platform-bindings').textContent(), /admin@example\.com\s*PlatformAdmin/);
    const response = await people.bob.page.goto(`${nmp.url}/studio/platform`);
    assert.equal(response.status(), 403);
    assert.match(await people.bob.page.getByTestId('explanation').textContent(), /PlatformAdmin/);
  });

  /** Send `secret` as a bearer token to the API, as a script would. */
  async function withKey(secret, path = '/apis/auth/v2/whoami') {
    return fetch(`${nmp.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
  }

  test('access keys: create shows the secret once with a copy button, and the key works against the API', async () => {
    const { context, page } = people.alice;
    await visit(page, `${nmp.url}/studio/`);
    await Promise.all([page.waitForURL('**/studio/access-keys'), page.getByRole('link', { name: 'Access keys' }).click()]);
    await page.fill('#key-name', 'ci <img src=x onerror="window.__xss=1">');
    await page.fill('#key-description', 'nightly <script>window.__xss=1</script>');
    await page.selectOption('#key-expires', '86400');
    const response = await submit(page, '[data-testid="create-key-form"]');
    assert.equal(response.status(), 200);
    assert.equal(response.headers()['cache-control'], 'no-store');
    await checkPage(page, response, { screenshot: 'access-key-created' });
    const secret = (await page.getByTestId('secret').inputValue()).trim();
    const jti = (await page.getByTestId('created-jti').textContent()).trim();
    assert.match(secret, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    assert.match(jti, /^ak_[0-9a-f]{32}$/);
    people.alice.accessKeysShownOnce = [secret];
    people.alice.jti = jti;
    // The copy button is shown and works: its script comes from our origin under the strict CSP.
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: nmp.url });
    await page.getByRole('button', { name: 'Copy the key' }).click();
    await page.getByTestId('copy-status').filter({ hasText: 'Copied to the clipboard.' }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
    // The key acts as alice against the API.
    const whoami = await withKey(secret);
    assert.equal(whoami.status, 200);
    const me = await whoami.json();
    assert.equal(me.email, 'alice@example.com');
    assert.equal(me.token_kind, 'access_key');
    const listed = await withKey(secret, '/apis/entities/v2/workspaces?page_size=100');
    assert.equal(listed.status, 200);
    assert.ok((await listed.json()).data.some((w) => w.name === 'team-a'), 'the key does not see alice\'s workspace');
    // Reloading the answer page neither shows the secret again nor makes a second key.
    await page.reload();
    assert.equal(new URL(page.url()).pathname, '/studio/access-keys');
    assert.ok(!(await page.content()).includes(secret), 'the secret is shown again after a reload');
    await page.getByTestId('notice').filter({ hasText: 'its secret was shown once' }).waitFor();
    await checkPage(page, await page.reload());
    const rows = page.getByTestId('access-keys').locator('tbody tr');
    assert.equal(await rows.count(), 1, 'a reload created another key');
    assert.match(await rows.first().textContent(), /ci <img src=x onerror="window.__xss=1">[\s\S]*ACTIVE/);
  });

  test('access keys: suspend, unsuspend and revoke (after confirmation) take effect on the next request', async () => {
    const { page } = people.alice;
    const { jti } = people.alice;
    const [secret] = people.alice.accessKeysShownOnce;
    const row = () => page.getByTestId('access-keys').locator(`tr[data-jti="${jti}"]`);
    await visit(page, `${nmp.url}/studio/access-keys`, { screenshot: 'access-keys' });
    // Someone else cannot touch it: bob's own form post answers as for an unknown key.
    const bob = people.bob;
    await visit(bob.page, `${nmp.url}/studio/access-keys`);
    assert.equal(await bob.page.getByTestId('access-keys').locator(`tr[data-jti="${jti}"]`).count(), 0);
    const bobCsrf = await bob.page.locator('input[name="csrf"]').first().inputValue();
    const forged = await bob.context.request.post(`${nmp.url}/studio/access-keys/${jti}/suspend`, {
      form: { csrf: bobCsrf }, headers: { origin: nmp.url },
    });
    assert.equal(forged.status(), 404);
    assert.equal((await withKey(secret)).status, 200);

    await Promise.all([page.waitForNavigation(), row().getByRole('button', { name: /Suspend/ }).click()]);
    await page.getByTestId('notice').filter({ hasText: 'Access key suspended' }).waitFor();
    assert.equal(await row().getByTestId('key-status').textContent(), 'SUSPENDED');
    assert.equal((await withKey(secret)).status, 401);

    await Promise.all([page.waitForNavigation(), row().getByRole('button', { name: /Unsuspend/ }).click()]);
    await page.getByTestId('notice').filter({ hasText: 'Access key unsuspended' }).waitFor();
    assert.equal(await row().getByTestId('key-status').textContent(), 'ACTIVE');
    assert.equal((await withKey(secret)).status, 200);

    await Promise.all([page.waitForNavigation(), row().getByRole('link', { name: /Revoke/ }).click()]);
    assert.equal(new URL(page.url()).pathname, `/studio/access-keys/${jti}/revoke`);
    await checkPage(page, await page.reload(), { screenshot: 'access-key-revoke' });
    assert.equal((await withKey(secret)).status, 200, 'the confirmation page alone revoked the key');
    await checkPage(page, await submit(page, 'main form'));
    await page.getByTestId('notice').filter({ hasText: 'Access key revoked' }).waitFor();
    assert.equal(await row().getByTestId('key-status').textContent(), 'REVOKED');
    assert.equal((await withKey(secret)).status, 401);
  });

  test('access keys: a PlatformAdmin makes a service-account key, listed for PlatformAdmins only', async () => {
    const admin = people.admin;
    await visit(admin.page, `${nmp.url}/studio/access-keys`);
    await admin.page.fill('#key-name', 'intake reader');
    await admin.page.fill('#key-service-account', 'intake-reader');
    const response = await submit(admin.page, '[data-testid="create-key-form"]');
    assert.equal(response.status(), 200);
    assert.match(await admin.page.getByTestId('created-key').textContent(), /service-account:intake-reader/);
    const secret = (await admin.page.getByTestId('secret').inputValue()).trim();
    admin.accessKeysShownOnce = [secret];
    const whoami = await (await withKey(secret)).json();
    assert.equal(whoami.principal, 'service-account:intake-reader');
    await visit(admin.page, `${nmp.url}/studio/access-keys`);
    assert.match(await admin.page.getByTestId('access-keys').textContent(), /intake reader[\s\S]*service-account:intake-reader/);
    // alice neither sees it nor gets the service-account field.
    await visit(people.alice.page, `${nmp.url}/studio/access-keys`);
    assert.doesNotMatch(await people.alice.page.getByTestId('access-keys').textContent(), /intake/);
    assert.equal(await people.alice.page.locator('#key-service-account').count(), 0);
  });

  test('audit trail: a role change made here shows up, filters narrow it, a non-admin gets the explanation', async () => {
    const { page } = people.alice;
    await visit(page, `${nmp.url}/studio/workspaces/team-a`);
    await page.fill('#principal', 'dave@example.com');
    await page.selectOption('#role', 'Viewer');
    await submit(page, 'form[action="/studio/workspaces/team-a/members"]');
    const dave = page.getByTestId('members').locator('tr', { hasText: 'dave@example.com' });
    await dave.locator('select').selectOption('Editor');
    const [posted] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/studio/workspaces/team-a/members/roles')),
      page.waitForNavigation(),
      dave.getByRole('button', { name: 'Change' }).click(),
    ]);
    const requestId = posted.headers()['x-request-id'];
    assert.ok(requestId, 'the form post has no X-Request-Id');
    await page.getByTestId('notice').filter({ hasText: 'Role changed.' }).waitFor();
    // An Admin of team-a reaches its trail from the workspace page (not from the navigation:
    // the whole platform's trail is for PlatformAdmins).
    assert.equal(await page.getByRole('link', { name: 'Audit trail', exact: true }).count(), 0);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Audit trail of this workspace' }).click()]);
    assert.equal(new URL(page.url()).pathname, '/studio/audit');
    assert.equal(new URL(page.url()).searchParams.get('workspace'), 'team-a');
    await checkPage(page, await page.reload(), { screenshot: 'audit' });
    const events = page.getByTestId('audit-events').locator('tbody tr');
    const change = events.filter({ hasText: 'member.roles_changed' }).filter({ hasText: 'dave@example.com' });
    assert.equal(await change.count(), 1);
    assert.match(await change.textContent(), /roles: Viewer\s*roles: Editor\s*u-alice/);
    // The event names the request the browser made.
    assert.equal(await change.locator('td').last().textContent(), requestId);
    // The description's payload, recorded with the workspace, is text here too.
    assert.match(await events.filter({ hasText: 'workspace.created' }).textContent(), /<script>window.__xss=1<\/script>/);
    // Filter by action: only member additions remain (bob's and dave's).
    await page.selectOption('#f-action', 'member.added');
    await checkPage(page, await submit(page, '[data-testid="audit-filters"]'));
    const actions = await page.getByTestId('audit-events').locator('tbody tr td:nth-child(2)').allTextContents();
    assert.ok(actions.length >= 2 && actions.every((a) => a === 'member.added'), `filtered actions: ${actions}`);
    assert.match(await page.getByTestId('audit-events').textContent(), /dave@example\.com[\s\S]*bob@example\.com/);
    // The platform's trail is not alice's to read: explained.
    let response = await page.goto(`${nmp.url}/studio/audit`);
    assert.equal(response.status(), 403);
    await checkPage(page, response);
    assert.match(await page.getByTestId('explanation').textContent(), /cannot see the audit trail: this needs the PlatformAdmin role/);
    // bob, removed from team-a, gets the explanation for its trail.
    response = await people.bob.page.goto(`${nmp.url}/studio/audit?workspace=team-a`);
    assert.equal(response.status(), 403);
    await checkPage(people.bob.page, response);
    assert.match(await people.bob.page.getByTestId('explanation').textContent(), /cannot see the audit trail in workspace “team-a”\. Your roles there: none/);
    // A PlatformAdmin has the navigation link and sees every workspace's events, access keys too.
    const admin = people.admin.page;
    await visit(admin, `${nmp.url}/studio/`);
    await Promise.all([admin.waitForURL('**/studio/audit'), admin.getByRole('link', { name: 'Audit trail', exact: true }).click()]);
    await admin.selectOption('#f-action', 'access_key.revoked');
    await checkPage(admin, await submit(admin, '[data-testid="audit-filters"]'));
    const revoked = await admin.getByTestId('audit-events').textContent();
    assert.match(revoked, new RegExp(`access_key\\.revoked[\\s\\S]*${people.alice.jti}`));
  });

  test('WEB-08 XSS payloads in IdP claims and query strings stay inert on every page', async () => {
    const { page } = await signIn('trudy');
    await visit(page, `${nmp.url}/studio/me`);
    assert.match(await page.getByTestId('name').textContent(), /<img src=x onerror=/);
    for (const path of ['/studio/', '/studio/workspaces/trudy', '/studio/workspaces/team-a', '/studio/access-keys',
      '/studio/audit?workspace=trudy', '/studio/me?action=delete&workspace=trudy',
      `/studio/audit?workspace=trudy&actor=${encodeURIComponent('"><script>window.__xss=1</script>')}`]) {
      await visit(page, `${nmp.url}${path}`); // asserts that no payload ran, and axe
    }
  });

  test('WEB-05 a cross-site form POST is refused and changes nothing', async () => {
    const { context } = people.alice;
    const page = await context.newPage();
    const posted = page.waitForResponse((r) => r.url() === `${nmp.url}/studio/workspaces` && r.request().method() === 'POST');
    await page.goto(attackerUrl);
    assert.equal((await posted).status(), 403);
    // Same origin, but without the session's anti-CSRF token: refused too.
    const forged = await context.request.post(`${nmp.url}/studio/workspaces`, {
      form: { name: 'csrf-victim', csrf: 'not-the-token' }, headers: { origin: nmp.url },
    });
    assert.equal(forged.status(), 403);
    const list = await context.request.get(`${nmp.url}/studio/?q=csrf-victim`);
    assert.doesNotMatch(await list.text(), /href="\/studio\/workspaces\/csrf-victim"/);
    await page.close();
  });

  test('WEB-03 a tampered or replayed state or code is refused', async () => {
    assert.ok(successUrl, 'no callback URL was recorded');
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    // Replayed: the whole callback URL in a browser that did not start that sign-in.
    let response = await page.goto(successUrl);
    assert.equal(response.status(), 400);
    // Start a sign-in, then answer it with a tampered state.
    let authorize;
    page.on('request', (r) => { if (r.url().startsWith(`${idp.issuer}/auth?`)) authorize = new URL(r.url()); });
    await page.goto(`${nmp.url}/studio/`);
    await page.waitForSelector('meta[name="nmp-idp-page"]', { state: 'attached' });
    const state = authorize.searchParams.get('state');
    assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256');
    assert.ok(authorize.searchParams.get('nonce'), 'no nonce');
    const code = new URL(successUrl).searchParams.get('code');
    response = await page.goto(`${nmp.url}/studio/auth/success?code=${code}&state=${state}x`);
    assert.equal(response.status(), 400);
    // The right state with an already used code: the IdP refuses it, and so do we.
    await page.goto(`${nmp.url}/studio/`);
    await page.waitForSelector('meta[name="nmp-idp-page"]', { state: 'attached' });
    response = await page.goto(`${nmp.url}/studio/auth/success?code=${code}&state=${authorize.searchParams.get('state')}`);
    assert.equal(response.status(), 400);
    // Still signed out.
    await page.goto(`${nmp.url}/studio/me`);
    assert.ok(page.url().startsWith(idp.issuer), `expected the IdP's login page, got ${page.url()}`);
    await context.close();
  });

  test('WEB-04 open-redirect attempts at the return target end on the home page', async () => {
    const { page } = people.alice;
    const attempts = ['https://evil.example/', '//evil.example/', '/\\evil.example/', 'javascript:alert(1)',
      '%2F%2Fevil.example', '/studio/..//evil.example', '/%5Cevil.example', 'http:evil.example'];
    for (const attempt of attempts) {
      await page.goto(`${nmp.url}/studio/auth/login?return_to=${encodeURIComponent(attempt)}`);
      assert.equal(page.url(), `${nmp.url}/studio/`, `return_to=${attempt}`);
    }
    // Through a real sign-in too: the target survives the IdP round trip only if it is ours.
    const context = await newContext(browser, nmp.url);
    const fresh = await context.newPage();
    await fresh.goto(`${nmp.url}/studio/auth/login?return_to=${encodeURIComponent('//evil.example/x')}`);
    await idpLogin(fresh, 'carol@example.com');
    await fresh.waitForURL(`${nmp.url}/studio/**`);
    assert.equal(fresh.url(), `${nmp.url}/studio/`);
    await fresh.goto(`${nmp.url}/studio/auth/login?return_to=${encodeURIComponent('/studio/me')}`);
    assert.equal(fresh.url(), `${nmp.url}/studio/me`);
    await context.close();
  });

  test('WEB-02 no token in storage, readable cookies or any response body', async () => {
    for (const [name, { context, page }] of Object.entries(people)) {
      await page.goto(`${nmp.url}/studio/me`);
      const storage = await page.evaluate(() => ({
        local: JSON.stringify(localStorage), session: JSON.stringify(sessionStorage), cookies: document.cookie,
      }));
      assert.equal(storage.local, '{}', `${name}: localStorage`);
      assert.equal(storage.session, '{}', `${name}: sessionStorage`);
      assert.equal(storage.cookies, '', `${name}: a cookie readable by scripts`);
      assert.ok(context.bodies.length > 5, `${name}: responses were recorded`);
      // The one exception: an access key alice created, in the answer to her create form only.
      assertNoTokenInResponses(assert, context, { accessKeysShownOnce: people[name].accessKeysShownOnce ?? [] });
    }
  });

  test('sign out: the IdP session ends and the old cookie replayed is signed out', async () => {
    const { context, page } = people.bob;
    const cookie = (await context.cookies()).find((c) => c.name === 'nmp-studio');
    await page.goto(`${nmp.url}/studio/`);
    await Promise.all([page.waitForURL(`${idp.issuer}/**`), page.getByRole('button', { name: 'Sign out' }).click()]);
    // RP-initiated logout: the IdP asks, then sends the browser back to us.
    await Promise.all([page.waitForURL(`${nmp.url}/studio/auth/signed-out`), page.click('button[name="logout"]')]);
    await page.getByTestId('notice').filter({ hasText: 'You are signed out.' }).waitFor();
    // The old cookie, replayed from a fresh browser, is worth nothing.
    const replay = await newContext(browser, nmp.url);
    await replay.addCookies([cookie]);
    const again = await replay.newPage();
    await again.goto(`${nmp.url}/studio/me`);
    assert.ok(again.url().startsWith(idp.issuer), `the replayed cookie still signs in: ${again.url()}`);
    // And the IdP session is gone: signing in again shows the login page.
    await page.goto(`${nmp.url}/studio/auth/login`);
    await page.waitForSelector('meta[name="nmp-idp-page"][content="login"]', { state: 'attached' });
    await replay.close();
  });

  test('server-side refresh keeps the session past the access token lifetime', async () => {
    // A 2-second access token: the next page load must refresh it on the server.
    await fetch(`${idp.issuer}/__control/ttl`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: 2 }),
    });
    const carol = await signIn('carol');
    const tokenCalls = async () => (await (await fetch(`${idp.issuer}/__control/counters`)).json()).token;
    const before = await tokenCalls();
    await new Promise((r) => setTimeout(r, 3000));
    const response = await carol.page.goto(`${nmp.url}/studio/me`);
    assert.equal(response.status(), 200);
    assert.equal(new URL(carol.page.url()).pathname, '/studio/me');
    assert.match(await carol.page.getByTestId('identity').textContent(), /carol@example\.com/);
    assert.equal(await tokenCalls(), before + 1, 'the server did not refresh the token');
    await fetch(`${idp.issuer}/__control/ttl`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ access_token: 900 }),
    });
  });
});

describe('quickstart sign-in', () => {
  let nmp; let context;
  before(async () => {
    nmp = await startNmp({ config: 'auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n' });
  });
  after(async () => { await context?.close(); await nmp?.stop(); });

  test('quickstart sign-in', async () => {
    context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    await page.goto(`${nmp.url}/studio/me`);
    assert.equal(new URL(page.url()).pathname, '/studio/auth/sign-in');
    await checkPage(page, await page.reload(), { screenshot: 'sign-in-quickstart' });
    assert.match(await page.textContent('main'), /Unsafe for production/);
    await page.fill('#email', 'admin@example.com');
    await Promise.all([page.waitForURL(`${nmp.url}/studio/me`), page.click('main button[type="submit"]')]);
    assert.match(await page.getByTestId('identity').textContent(), /admin@example\.com/);
    await page.getByRole('link', { name: 'admin', exact: true }).waitFor();
    await page.getByTestId('quickstart-banner').waitFor();
    // Access keys are off on this server: no link, and the page says why.
    assert.equal(await page.getByRole('link', { name: 'Access keys' }).count(), 0);
    const off = await page.goto(`${nmp.url}/studio/access-keys`);
    assert.equal(off.status(), 404);
    await checkPage(page, off);
    assert.match(await page.getByTestId('explanation').textContent(), /Access keys are not enabled on this server/);
    assertNoTokenInResponses(assert, context);
  });

  test('session survives a server restart', async () => {
    await nmp.restart();
    const page = await context.newPage();
    await page.goto(`${nmp.url}/studio/me`);
    assert.equal(new URL(page.url()).pathname, '/studio/me');
    assert.match(await page.getByTestId('identity').textContent(), /admin@example\.com/);
  });

  test('a session made on one replica works on another', async () => {
    // A second replica on the same store (SQLite, one host); cookies are per host, not per port.
    const replica = await startNmp({
      config: 'auth:\n  enabled: true\n  allow_unsigned_jwt: true\n  admin_email: admin@example.com\n',
      dataDir: nmp.dataDir,
    });
    try {
      const page = await context.newPage();
      await page.goto(`${replica.url}/studio/me`);
      assert.equal(new URL(page.url()).pathname, '/studio/me');
      assert.match(await page.getByTestId('identity').textContent(), /admin@example\.com/);
      // Signing out on the replica ends the session on the first server too.
      await page.goto(`${replica.url}/studio/`);
      await Promise.all([page.waitForURL('**/studio/auth/signed-out'), page.getByRole('button', { name: 'Sign out' }).click()]);
      await page.goto(`${nmp.url}/studio/me`);
      assert.equal(new URL(page.url()).pathname, '/studio/auth/sign-in');
    } finally {
      await replica.stop();
    }
  });
});

describe('session timeouts', () => {
  let nmp;
  before(async () => {
    nmp = await startNmp({
      config: 'auth:\n  enabled: true\n  allow_unsigned_jwt: true\nstudio:\n  session_idle_timeout_seconds: 2\n  session_absolute_timeout_seconds: 3600\n',
    });
  });
  after(async () => { await nmp?.stop(); });

  test('an idle session is signed out', async () => {
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    await page.goto(`${nmp.url}/studio/auth/sign-in`);
    await page.fill('#email', 'dana@example.com');
    await Promise.all([page.waitForURL(`${nmp.url}/studio/`), page.click('main button[type="submit"]')]);
    await page.goto(`${nmp.url}/studio/me`);
    assert.equal(new URL(page.url()).pathname, '/studio/me');
    await new Promise((r) => setTimeout(r, 2500));
    await page.goto(`${nmp.url}/studio/me`);
    assert.equal(new URL(page.url()).pathname, '/studio/auth/sign-in');
    await context.close();
  });
});

describe('auth off', () => {
  let nmp;
  before(async () => { nmp = await startNmp({ config: 'auth:\n  enabled: false\n' }); });
  after(async () => { await nmp?.stop(); });

  test('auth-off banner', async () => {
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    const response = await page.goto(`${nmp.url}/`);
    assert.equal(new URL(page.url()).pathname, '/studio/');
    await checkPage(page, response, { screenshot: 'auth-off' });
    await page.getByTestId('auth-off-banner').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 0);
    // Nothing to explain: My access says everything is allowed instead of offering the question.
    await visit(page, `${nmp.url}/studio/me?action=delete&workspace=default`);
    await page.getByTestId('why-auth-off').waitFor();
    assert.equal(await page.getByTestId('why-answer').count(), 0);
    await context.close();
  });

  test('workspaces list: search and paging', async () => {
    for (let i = 1; i <= 25; i += 1) {
      const response = await fetch(`${nmp.url}/apis/entities/v2/workspaces`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `ws-${i}` }),
      });
      assert.equal(response.status, 201);
    }
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    await visit(page, `${nmp.url}/studio/`);
    assert.match(await page.textContent('.pager'), /Page 1 of 2/);
    assert.equal(await page.getByTestId('workspaces').locator('tbody tr').count(), 20);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Next' }).click()]);
    assert.match(await page.textContent('.pager'), /Page 2 of 2/);
    assert.equal(await page.getByTestId('workspaces').locator('tbody tr').count(), 7);
    await page.fill('#q', 'ws-1');
    await Promise.all([page.waitForNavigation(), page.getByRole('button', { name: 'Search' }).click()]);
    const names = await page.getByTestId('workspaces').locator('tbody a').allTextContents();
    assert.deepEqual(names.sort(), ['ws-1', ...Array.from({ length: 10 }, (_, i) => `ws-1${i}`)].sort());
    await context.close();
  });

  test('audit trail: filters and paging', async () => {
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    await visit(page, `${nmp.url}/studio/`);
    await Promise.all([page.waitForURL('**/studio/audit'), page.getByRole('link', { name: 'Audit trail', exact: true }).click()]);
    await visit(page, `${nmp.url}/studio/audit?action=workspace.created&page_size=10`);
    const total = Number((await page.getByTestId('audit-events').locator('caption').textContent()).match(/(\d+) events/)[1]);
    assert.ok(total >= 25, `the 25 workspaces made by the previous test: ${total}`);
    const pages = Math.ceil(total / 10);
    assert.match(await page.textContent('.pager'), new RegExp(`Page 1 of ${pages}`));
    const rows = page.getByTestId('audit-events').locator('tbody tr');
    assert.equal(await rows.count(), 10);
    const first = await rows.allTextContents();
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: 'Next' }).click()]);
    assert.match(await page.textContent('.pager'), new RegExp(`Page 2 of ${pages}`));
    assert.equal(new URL(page.url()).searchParams.get('action'), 'workspace.created', 'the filter survives paging');
    assert.equal(await rows.count(), 10);
    const second = await rows.allTextContents();
    assert.ok(second.every((r) => r.includes('workspace.created') && !first.includes(r)), 'page 2 repeats page 1');
    // One workspace's trail: its creation only.
    await page.fill('#f-workspace', 'ws-7');
    await checkPage(page, await submit(page, '[data-testid="audit-filters"]'));
    assert.equal(await rows.count(), 1);
    assert.match(await rows.first().textContent(), /workspace\.created[\s\S]*ws-7/);
    // A time range: nothing in the far future; a time the API cannot read is named.
    await page.fill('#f-since', '2999-01-01T00:00');
    await submit(page, '[data-testid="audit-filters"]');
    assert.equal(await rows.count(), 0);
    await page.fill('#f-since', 'yesterday');
    const response = await submit(page, '[data-testid="audit-filters"]');
    assert.equal(response.status(), 422);
    await checkPage(page, response);
    assert.match(await page.getByTestId('error').textContent(), /since: Input should be a valid datetime/);
    await context.close();
  });

  test('delete a workspace with confirmation', async () => {
    const context = await newContext(browser, nmp.url);
    const page = await context.newPage();
    await visit(page, `${nmp.url}/studio/workspaces/ws-3`);
    await Promise.all([page.waitForNavigation(), page.getByRole('link', { name: /Delete this workspace/ }).click()]);
    await checkPage(page, await page.reload(), { screenshot: 'delete-confirm' });
    await page.fill('#confirm', 'ws-4');
    let response = await submit(page, 'main form');
    assert.equal(response.status(), 422);
    assert.match(await page.getByTestId('error').textContent(), /Type “ws-3” exactly/);
    assert.equal((await fetch(`${nmp.url}/apis/entities/v2/workspaces/ws-3`)).status, 200);
    await page.fill('#confirm', 'ws-3');
    response = await submit(page, 'main form');
    assert.equal(new URL(page.url()).pathname, '/studio/');
    await page.getByTestId('notice').filter({ hasText: 'Workspace deleted.' }).waitFor();
    assert.equal((await fetch(`${nmp.url}/apis/entities/v2/workspaces/ws-3`)).status, 404);
    await context.close();
  });
});
