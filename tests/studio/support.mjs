// Starts what the Studio browser tests need, for real: the nmp binary (target/debug/nemo, or
// $NMP_BIN), the test IdP (tests/idp, oidc-provider), headless Chromium (Debian's `chromium`, or
// $CHROMIUM) through playwright-core. Everything listens on 127.0.0.1 and fails loudly when it
// cannot start; nothing is skipped.

import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '../..');
export const docsDir = path.join(repo, 'docs', 'studio');

export const NMP_BIN = process.env.NMP_BIN ?? path.join(repo, 'target', 'debug', 'nemo');
export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Collects a child's output so a failure can show it. */
function capture(child, name) {
  const lines = [];
  const keep = (chunk) => {
    for (const line of chunk.toString().split('\n')) if (line) lines.push(line);
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  return () => `--- ${name} output (last lines) ---\n${lines.slice(-60).join('\n')}`;
}

/** The test IdP, with Studio's redirect and post-logout URIs on `studioOrigins` registered. */
export async function startIdp(studioOrigins) {
  const env = {
    ...process.env,
    IDP_STUDIO_REDIRECT_URIS: studioOrigins.map((o) => `${o}/studio/auth/success`).join(','),
    IDP_STUDIO_POST_LOGOUT_REDIRECT_URIS: studioOrigins.map((o) => `${o}/studio/auth/signed-out`).join(','),
  };
  const script = path.join(repo, 'tests', 'idp', 'idp.mjs');
  if (!fs.existsSync(path.join(repo, 'tests', 'idp', 'node_modules', 'oidc-provider'))) {
    throw new Error('tests/idp has no node_modules: run `npm ci` in tests/idp (scripts/test.sh does)');
  }
  const child = spawn(process.execPath, [script, '--port', '0', '--exit-with-stdin'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  const output = capture(child, 'test IdP');
  const ready = await new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`test IdP did not start in 20 s\n${output()}`)), 20_000);
    child.stdout.on('data', (chunk) => {
      buffer += chunk.toString();
      const line = buffer.split('\n').find((l) => l.trim().startsWith('{'));
      if (line) {
        clearTimeout(timer);
        resolve(JSON.parse(line));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`test IdP exited with ${code}\n${output()}`));
    });
  });
  return { issuer: ready.issuer, stop: () => { child.stdin.end(); child.kill('SIGTERM'); } };
}

async function waitReady(url, child, output) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nmp exited with ${child.exitCode}\n${output()}`);
    try {
      const response = await fetch(`${url}/health/ready`);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nmp did not become ready at ${url} in 30 s\n${output()}`);
}

/**
 * The nmp binary with `config` (YAML text) on `port` with data in `dataDir`. `restart()` stops it
 * and starts it again on the same port and data.
 */
export async function startNmp({ config, port, dataDir }) {
  if (!fs.existsSync(NMP_BIN)) {
    throw new Error(`${NMP_BIN} does not exist: build it first (cargo build -p nmp-cli --bin nemo)`);
  }
  port ??= await freePort();
  dataDir ??= fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-studio-'));
  const configFile = path.join(dataDir, `config-${port}.yaml`);
  fs.writeFileSync(configFile, config);
  const url = `http://127.0.0.1:${port}`;
  let child;
  let output;
  const start = async () => {
    child = spawn(NMP_BIN, ['services', 'run', '--host', '127.0.0.1', '--port', String(port), '--config', configFile, '--data-dir', dataDir], {
      env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    output = capture(child, `nmp on ${port}`);
    await waitReady(url, child, output);
  };
  const stop = async () => {
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  await start();
  return { url, port, dataDir, stop, restart: async () => { await stop(); await start(); }, output: () => output() };
}

export async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install the Debian package \`chromium\` (scripts/test-deps.sh does) or set CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu'] });
}

/** A fresh browser context that records every response body from `origin` (WEB-02). */
export async function newContext(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  context.bodies = [];
  context.on('response', async (response) => {
    if (!response.url().startsWith(origin)) return;
    try {
      const body = await response.text();
      context.bodies.push({ url: response.url(), method: response.request().method(), body, headers: response.headers() });
    } catch { /* redirects have no body */ }
  });
  return context;
}

/** Play the test IdP's real login and consent pages as `user`. */
export async function idpLogin(page, user) {
  await page.waitForSelector('meta[name="nmp-idp-page"][content="login"]', { state: 'attached' });
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', 'correct horse battery staple');
  await Promise.all([page.waitForLoadState(), page.click('button[type="submit"]')]);
  if (await page.locator('meta[name="nmp-idp-page"][content="consent"]').count()) {
    await Promise.all([page.waitForLoadState(), page.click('button[value="allow"]')]);
  }
}

/** Run axe-core in the page; return the serious and critical violations. */
const axeSource = fs.readFileSync(path.join(here, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
export async function seriousViolations(page) {
  // Injected through the DevTools protocol, which the page's CSP does not govern.
  await page.evaluate(axeSource);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/;
const JWTS = new RegExp(JWT.source, 'g');

/** The claims of a JWT, or null. */
function claims(token) {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
}

/**
 * Fails if any recorded response body, header or URL of the context holds a JWT-shaped token.
 *
 * One exception, on purpose and narrow: `accessKeysShownOnce` lists access-key secrets the person
 * created in this context. Each may appear in exactly one response, the answer to the create form
 * (`POST /studio/access-keys`), and only if it really is an access key (`nmp_token_type:
 * access_key`, signed by the platform, not the IdP). Any other JWT anywhere, the IdP's access,
 * refresh and ID tokens above all, still fails; so does a listed secret shown a second time.
 */
export function assertNoTokenInResponses(assert, context, { accessKeysShownOnce = [] } = {}) {
  for (const secret of accessKeysShownOnce) {
    assert.equal(claims(secret)?.nmp_token_type, 'access_key', 'an exception that is not an access key');
  }
  const shown = new Map(accessKeysShownOnce.map((secret) => [secret, 0]));
  for (const { url, method, body, headers } of context.bodies) {
    assert.doesNotMatch(url, JWT, `a token in a URL: ${url}`);
    assert.doesNotMatch(JSON.stringify(headers), JWT, `a token in the headers of ${url}`);
    const createAnswer = method === 'POST' && new URL(url).pathname === '/studio/access-keys';
    for (const [token] of body.matchAll(JWTS)) {
      assert.ok(createAnswer && shown.has(token), `a token in the body of ${method} ${url}`);
    }
    for (const secret of shown.keys()) {
      if (body.includes(secret)) shown.set(secret, shown.get(secret) + 1);
    }
  }
  for (const [secret, times] of shown) {
    assert.equal(times, 1, `access key ${claims(secret)?.jti} was in ${times} responses, not exactly one`);
  }
}

/**
 * Where a page's screenshot goes: `docs/studio/` when STUDIO_SCREENSHOTS=1 (to refresh the
 * pictures in docs/studio.md), otherwise a temporary directory, so a test run leaves the
 * working tree clean. The screenshot is taken either way.
 */
const screenshotDir = process.env.STUDIO_SCREENSHOTS === '1'
  ? docsDir
  : fs.mkdtempSync(path.join(os.tmpdir(), 'nmp-studio-shots-'));
export function screenshotPath(name) {
  fs.mkdirSync(screenshotDir, { recursive: true });
  return path.join(screenshotDir, `${name}.png`);
}

/**
 * The official Studio bundle (nmp/studio/static of the pinned official nemo-platform wheel), by
 * official-bundle.sh: downloaded once into a cache. Throws when it cannot be obtained.
 */
export function officialBundle() {
  const script = path.join(here, 'official-bundle.sh');
  return execFileSync(script, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

/** nmp serving the official bundle at `bundleDir` in `mode` (`reference` or `bff`), with a fresh test IdP. */
export async function startOfficialStudio(bundleDir, mode) {
  const port = await freePort();
  const idp = await startIdp([`http://127.0.0.1:${port}`]);
  const nmp = await startNmp({
    port,
    config: `auth:
  enabled: true
  admin_email: admin@example.com
  seed_default_workspace_editor: false
  oidc:
    enabled: true
    issuer: ${idp.issuer}
    client_id: nemo-cli
    audience: nmp-api
studio:
  client_id: nmp-studio
  bundle_dir: ${bundleDir}
  bundle_mode: ${mode}
`,
  });
  return { idp, nmp };
}
