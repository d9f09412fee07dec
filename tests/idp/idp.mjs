// A real OpenID provider (panva/oidc-provider) for nmp end-to-end tests. TEST-ONLY: it accepts any
// password and exposes an unauthenticated control API under /__control/*.
//
//   node tests/idp/idp.mjs [--port 0] [--state FILE] [--audience nmp-api] [--access-token-ttl 900]
//
// Listens on 127.0.0.1 only. When ready it prints one JSON line to stdout:
//   {"issuer":"http://127.0.0.1:PORT","port":PORT,"audience":"nmp-api","resource":"urn:nmp:api"}
// With --state, keys, settings, counters, sessions and tokens are saved to FILE and reloaded on start,
// so a stopped IdP can be restarted on the same port and honour the tokens it issued.
// The control API is described in README.md.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

import { Adapter, persistTo, save } from './store.mjs';
import * as pages from './pages.mjs';

const { values: options } = parseArgs({
  options: {
    port: { type: 'string', default: process.env.IDP_PORT ?? '0' },
    state: { type: 'string', default: process.env.IDP_STATE_FILE },
    audience: { type: 'string', default: process.env.IDP_AUDIENCE ?? 'nmp-api' },
    'access-token-ttl': { type: 'string', default: process.env.IDP_ACCESS_TOKEN_TTL ?? '900' },
    // Exit when stdin closes, so the IdP dies with the test process that started it, however it dies.
    'exit-with-stdin': { type: 'boolean', default: false },
  },
});

const AUDIENCE = options.audience;
const RESOURCE = 'urn:nmp:api'; // resource indicator (RFC 8707) whose tokens carry aud = AUDIENCE
const API_SCOPES = ['platform:read', 'platform:write', ...[
  'audit', 'auth', 'data-designer', 'entities', 'files', 'guardrails', 'inference', 'intake', 'jobs',
  'models', 'safe-synthesizer', 'secrets',
].flatMap((api) => [`${api}:read`, `${api}:write`])];
const OIDC_SCOPES = ['openid', 'offline_access', 'profile', 'email', 'groups'];
const ALGS = {
  RS256: ['rsa', { modulusLength: 2048 }],
  ES256: ['ec', { namedCurve: 'P-256' }],
  EdDSA: ['ed25519', {}],
};
const STUDIO_REDIRECT_URIS = (process.env.IDP_STUDIO_REDIRECT_URIS
  ?? 'http://127.0.0.1/callback,http://127.0.0.1/auth/callback,http://localhost/callback,http://127.0.0.1/studio/auth/success').split(',');
// Where nmp's Studio may send the browser after RP-initiated logout (matched exactly).
const STUDIO_POST_LOGOUT_REDIRECT_URIS = (process.env.IDP_STUDIO_POST_LOGOUT_REDIRECT_URIS
  ?? 'http://127.0.0.1/studio/auth/signed-out').split(',');

const { users, serviceClients } = JSON.parse(fs.readFileSync(new URL('./accounts.json', import.meta.url)));

class HttpError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

function newKey(alg) {
  const spec = ALGS[alg];
  if (!spec) throw new HttpError(400, `unsupported alg \`${alg}\`, expected one of ${Object.keys(ALGS)}`);
  const { privateKey } = crypto.generateKeyPairSync(...spec);
  const kid = `${alg.toLowerCase()}-${crypto.randomBytes(6).toString('hex')}`;
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid };
}

// Everything that survives a restart (with --state). `keys` is newest first.
const saved = options.state && fs.existsSync(options.state)
  ? JSON.parse(fs.readFileSync(options.state, 'utf8')) : undefined;
const state = {
  keys: saved?.keys ?? Object.keys(ALGS).map(newKey),
  accessTokenAlg: saved?.accessTokenAlg ?? 'RS256',
  ttl: saved?.ttl ?? {
    AccessToken: Number(options['access-token-ttl']), RefreshToken: 14 * 24 * 3600, DeviceCode: 600, IdToken: 3600,
  },
  counters: saved?.counters ?? {},
  discoveryOverrides: saved?.discoveryOverrides ?? {}, // fields merged into the discovery document
  jwksCacheControl: saved?.jwksCacheControl, // Cache-Control header of /jwks responses
  // Seconds, added to device authorization responses (oidc-provider sends none: clients then wait 5 s).
  deviceInterval: saved?.deviceInterval ?? (process.env.IDP_DEVICE_INTERVAL ? Number(process.env.IDP_DEVICE_INTERVAL) : undefined),
  cookieKeys: saved?.cookieKeys ?? [crypto.randomBytes(32).toString('base64url')],
};
// Faults are deliberately not saved: a restart is how a test models recovery.
const faults = {}; // endpoint name -> 'error' | 'hang' | 'garbage'
if (options.state) persistTo(options.state, saved?.store, () => ({ ...state }));

const signingKey = () => state.keys.find((key) => key.alg === state.accessTokenAlg);
const findUser = (login) => {
  const wanted = String(login ?? '').trim().toLowerCase();
  return users.find((user) => [user.email, user.sub, user.email.split('@')[0]].includes(wanted));
};

function configuration() {
  return {
    adapter: Adapter,
    clients: [
      {
        client_id: 'nemo-cli',
        application_type: 'native',
        token_endpoint_auth_method: 'none',
        grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token', 'authorization_code'],
        response_types: ['code'],
        redirect_uris: ['http://127.0.0.1/callback'],
      },
      {
        client_id: 'nmp-studio',
        application_type: 'native', // allows http loopback redirect URIs on any port (RFC 8252 §7.3)
        token_endpoint_auth_method: 'none',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
        redirect_uris: STUDIO_REDIRECT_URIS,
        post_logout_redirect_uris: STUDIO_POST_LOGOUT_REDIRECT_URIS,
      },
      ...serviceClients.map(({ client_id, client_secret }) => ({
        client_id,
        client_secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      })),
    ],
    cookies: { keys: state.cookieKeys },
    jwks: { keys: state.keys },
    scopes: OIDC_SCOPES,
    claims: {
      openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'preferred_username'], groups: ['groups'],
    },
    async findAccount(_ctx, sub) {
      const user = users.find((candidate) => candidate.sub === sub);
      if (!user) return undefined;
      return {
        accountId: sub,
        async claims() {
          return {
            sub, email: user.email, email_verified: true, name: user.name, preferred_username: user.email, groups: user.groups,
          };
        },
      };
    },
    // Access tokens carry what NMP reads: email and groups (sub, scope, aud and iss come built in).
    async extraTokenClaims(_ctx, token) {
      const user = users.find((candidate) => candidate.sub === token.accountId);
      if (user) return { email: user.email, groups: user.groups };
      const service = serviceClients.find((client) => client.client_id === token.clientId);
      // `extra_claims`: a test client whose tokens claim to be something else (e.g. an access key).
      return service ? { groups: service.groups, ...(service.extra_claims ?? {}) } : undefined;
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      revocation: { enabled: true },
      deviceFlow: {
        enabled: true,
        userCodeInputSource: pages.deviceInput,
        userCodeConfirmSource: pages.deviceConfirm,
        successSource: pages.deviceSuccess,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, indicator) {
          if (indicator !== RESOURCE) throw new errors.InvalidTarget(`unknown resource \`${indicator}\``);
          return {
            audience: AUDIENCE,
            scope: API_SCOPES.join(' '),
            accessTokenFormat: 'jwt',
            accessTokenTTL: state.ttl.AccessToken,
            jwt: { sign: { alg: state.accessTokenAlg, kid: signingKey().kid } },
          };
        },
      },
    },
    clientBasedCORS: () => true,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    pkce: { required: () => true },
    rotateRefreshToken: () => true,
    renderError: pages.error,
    ttl: {
      AccessToken: () => state.ttl.AccessToken,
      ClientCredentials: () => state.ttl.AccessToken,
      RefreshToken: () => state.ttl.RefreshToken,
      DeviceCode: () => state.ttl.DeviceCode,
      IdToken: () => state.ttl.IdToken,
      Interaction: 600,
      Session: 24 * 3600,
      Grant: 14 * 24 * 3600,
    },
  };
}

let issuer;
let provider;
let providerHandler;

// oidc-provider reads its keys once, so every key change builds a new Provider; the shared
// adapter keeps sessions, grants and tokens across the swap.
function rebuildProvider() {
  provider = new Provider(issuer, configuration());
  provider.on('server_error', (_ctx, err) => console.error('idp server_error:', err));
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.status !== 200) return;
    if (ctx.path === '/device/auth' && state.deviceInterval !== undefined) {
      ctx.body = { ...ctx.body, interval: state.deviceInterval };
    } else if (ctx.path === '/.well-known/openid-configuration') {
      const body = { ...ctx.body };
      for (const [field, value] of Object.entries(state.discoveryOverrides)) {
        if (value === null) delete body[field]; else body[field] = value;
      }
      ctx.body = body;
    } else if (ctx.path === '/jwks' && state.jwksCacheControl) {
      ctx.set('cache-control', state.jwksCacheControl);
    }
  });
  providerHandler = provider.callback();
  save();
}

// --- the user's side: login and consent pages --------------------------------------------------

async function interaction(req, res, uid) {
  const { prompt, params, session, grantId } = await provider.interactionDetails(req, res);
  if (req.method === 'GET') {
    return pages.send(res, prompt.name === 'login'
      ? pages.login(uid, params.client_id)
      : pages.consent(uid, params.client_id, prompt.details));
  }
  const form = new URLSearchParams(await readBody(req));
  if (prompt.name === 'login') {
    const user = findUser(form.get('login'));
    if (!user) return pages.send(res, pages.login(uid, params.client_id, `unknown user \`${form.get('login')}\``));
    return provider.interactionFinished(req, res, { login: { accountId: user.sub } }, { mergeWithLastSubmission: false });
  }
  if (form.get('decision') !== 'allow') {
    return provider.interactionFinished(req, res, {
      error: 'access_denied', error_description: 'the user denied the request',
    }, { mergeWithLastSubmission: false });
  }
  const grant = grantId
    ? await provider.Grant.find(grantId)
    : new provider.Grant({ accountId: session.accountId, clientId: params.client_id });
  const { details } = prompt;
  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    grant.addResourceScope(indicator, scopes.join(' '));
  }
  return provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, {
    mergeWithLastSubmission: true,
  });
}

// --- the test's side: /__control/* ------------------------------------------------------------

function publicState() {
  return {
    issuer,
    audience: AUDIENCE,
    resource: RESOURCE,
    access_token_alg: state.accessTokenAlg,
    signing_kid: signingKey().kid,
    kids: state.keys.map((key) => key.kid),
    ttl: state.ttl,
    device_interval: state.deviceInterval ?? null,
    discovery_overrides: state.discoveryOverrides,
    jwks_cache_control: state.jwksCacheControl ?? null,
    faults,
    counters: state.counters,
  };
}

// Requests to these paths are counted (and can be made to fail), by endpoint name.
const COUNTED = {
  '/jwks': 'jwks',
  '/.well-known/openid-configuration': 'discovery',
  '/token': 'token',
  '/device/auth': 'device_authorization',
};

const publicJwk = ({ alg, use, kid, ...key }) => ({
  ...crypto.createPublicKey({ key, format: 'jwk' }).export({ format: 'jwk' }), alg, use, kid,
});

const control = {
  'GET /__control/state': () => publicState(),
  // The same keys as /jwks, without counting as a JWKS fetch.
  'GET /__control/jwks': () => ({ keys: state.keys.map(publicJwk) }),
  'GET /__control/counters': () => state.counters,
  'POST /__control/counters/reset': () => { state.counters = {}; save(); return state.counters; },
  // Adds a key of `alg` and signs access tokens with it from now on.
  'POST /__control/keys/rotate': ({ alg = state.accessTokenAlg }) => {
    const key = newKey(alg);
    state.keys.unshift(key);
    state.accessTokenAlg = alg;
    rebuildProvider();
    return { kid: key.kid, ...publicState() };
  },
  // Keeps only the newest key of each algorithm in the JWKS.
  'POST /__control/keys/remove-old': () => {
    const removed = state.keys.filter((key, index) => state.keys.findIndex((other) => other.alg === key.alg) !== index);
    state.keys = state.keys.filter((key) => !removed.includes(key));
    rebuildProvider();
    return { removed: removed.map((key) => key.kid), ...publicState() };
  },
  // Signs access tokens with the newest key of `alg`.
  'POST /__control/signing-alg': ({ alg }) => {
    if (!ALGS[alg]) throw new HttpError(400, `unsupported alg \`${alg}\``);
    state.accessTokenAlg = alg;
    save();
    return publicState();
  },
  // Seconds; any of access_token, refresh_token, device_code, id_token.
  'POST /__control/ttl': (body) => {
    const names = {
      access_token: 'AccessToken', refresh_token: 'RefreshToken', device_code: 'DeviceCode', id_token: 'IdToken',
    };
    for (const [field, seconds] of Object.entries(body)) {
      if (!names[field] || !Number.isInteger(seconds) || seconds <= 0) {
        throw new HttpError(400, `bad ttl field \`${field}\`: expected one of ${Object.keys(names)} with a positive integer`);
      }
      state.ttl[names[field]] = seconds;
    }
    save();
    return publicState();
  },
  // Seconds to put in device authorization responses as `interval`; null to send none.
  'POST /__control/device-interval': ({ seconds }) => {
    if (seconds !== null && !(Number.isInteger(seconds) && seconds >= 0)) throw new HttpError(400, 'seconds must be a non-negative integer or null');
    state.deviceInterval = seconds ?? undefined;
    save();
    return publicState();
  },
  // Fields merged into the discovery document, e.g. {"issuer": "http://127.0.0.1:1/"} or a jwks_uri
  // elsewhere; a field set to null is removed. {} restores the real document.
  'POST /__control/discovery-overrides': (fields) => {
    state.discoveryOverrides = fields;
    save();
    return publicState();
  },
  // Cache-Control header value for /jwks responses (e.g. "max-age=60"); null for oidc-provider's default.
  'POST /__control/jwks-cache-control': ({ value }) => {
    state.jwksCacheControl = value ?? undefined;
    save();
    return publicState();
  },
  // endpoint: jwks | discovery | token | device_authorization; mode: ok | error (500) | hang | garbage (200, not JSON).
  'POST /__control/fault': ({ endpoint, mode }) => {
    if (!Object.values(COUNTED).includes(endpoint)) {
      throw new HttpError(400, `unknown endpoint \`${endpoint}\`, expected one of ${Object.values(COUNTED)}`);
    }
    if (!['ok', 'error', 'hang', 'garbage'].includes(mode)) throw new HttpError(400, `unknown mode \`${mode}\``);
    if (mode === 'ok') delete faults[endpoint]; else faults[endpoint] = mode;
    return publicState();
  },
};

function injectFault(res, mode) {
  if (mode === 'hang') return; // never answer; the client's timeout is what is under test
  if (mode === 'error') {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end('{"error":"server_error","error_description":"injected fault"}');
    return;
  }
  res.writeHead(200, { 'content-type': 'text/html' });
  res.end('<html><body>this is not JSON</body></html>');
}

// --- HTTP plumbing ------------------------------------------------------------------------------

async function readBody(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function handle(req, res) {
  const { pathname } = new URL(req.url, issuer);
  if (pathname.startsWith('/__control/')) {
    const action = control[`${req.method} ${pathname}`];
    if (!action) return sendJson(res, 404, { error: `no control action ${req.method} ${pathname}` });
    const text = req.method === 'POST' ? await readBody(req) : '';
    return sendJson(res, 200, await action(text ? JSON.parse(text) : {}));
  }
  const endpoint = COUNTED[pathname];
  if (endpoint) {
    state.counters[endpoint] = (state.counters[endpoint] ?? 0) + 1;
    save();
    if (faults[endpoint]) return injectFault(res, faults[endpoint]);
  }
  const interactionPath = pathname.match(/^\/interaction\/([\w-]+)$/);
  if (interactionPath) return interaction(req, res, interactionPath[1]);
  return providerHandler(req, res);
}

const server = http.createServer((req, res) => {
  if (!['127.0.0.1', '::ffff:127.0.0.1'].includes(req.socket.remoteAddress)) {
    return sendJson(res, 403, { error: 'loopback only' });
  }
  handle(req, res).catch((err) => {
    if (!(err instanceof HttpError)) console.error('idp error:', err);
    if (!res.headersSent) sendJson(res, err.status ?? 500, { error: err.message });
    else res.end();
  });
});

server.listen(Number(options.port), '127.0.0.1', () => {
  const { port } = server.address();
  issuer = `http://127.0.0.1:${port}`;
  rebuildProvider();
  process.stdout.write(`${JSON.stringify({
    issuer, port, audience: AUDIENCE, resource: RESOURCE, pid: process.pid,
  })}\n`);
});
server.on('error', (err) => {
  console.error(`idp: cannot listen on 127.0.0.1:${options.port}: ${err.message}`);
  process.exit(1);
});
if (options['exit-with-stdin']) process.stdin.on('end', () => process.exit(0)).resume();
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => process.exit(0));
