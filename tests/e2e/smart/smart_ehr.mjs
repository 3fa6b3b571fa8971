// A small SMART on FHIR "EHR" for the relapse timeline's browser test: a real OAuth 2.0 /
// OpenID Connect authorization server (oidc-provider, its development login and consent pages)
// configured for SMART App Launch 2.0, fronting the Medplum FHIR engine (tests/integration/medplum).
//
//   node smart_ehr.mjs --port 0 --fhir <Medplum base URL> --fhir-token <Medplum's bearer token>
//                      --client-id <id> --redirect-uri <app's index.html URL>
//
// Prints one line `LISTENING <origin>` once ready. Serves, on that origin:
// - /oidc/...                      the authorization server (issuer <origin>/oidc): /auth, /token, ...;
// - /fhir/...                      the FHIR API: each request needs a bearer access token this server
//                                  issued with a patient/*.rs scope, and may only search or read the
//                                  token's patient; it is forwarded to Medplum with Medplum's token;
// - /fhir/.well-known/smart-configuration   SMART discovery (PKCE S256, launch-ehr, ...);
// - POST /ehr/launch {patient, appContext}  the EHR side of an EHR launch: returns {launch}, an
//                                  opaque launch id whose context the token response carries
//                                  (patient, appContext) — as an EHR does when a card's SMART link is opened;
// - POST /ehr/pick-patient {patient}        the patient picker of a standalone launch (scripted): the
//                                  next standalone authorization (scope launch/patient) gets this patient.
import http from 'node:http';
import crypto from 'node:crypto';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    fhir: { type: 'string' },
    'fhir-token': { type: 'string' },
    'client-id': { type: 'string' },
    'redirect-uri': { type: 'string' },
  },
});
for (const name of ['fhir', 'fhir-token', 'client-id', 'redirect-uri']) {
  if (!args[name]) { console.error(`--${name} is required`); process.exit(2); }
}

const PATIENT_SCOPES = ['launch', 'launch/patient', 'patient/*.rs'];
const launches = new Map(); // launch id -> {patient, appContext}
const codes = new Map(); // authorization code -> launch context
const tokens = new Map(); // access token -> launch context
let picked = null; // standalone launch: the patient chosen in the (scripted) patient picker

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(args.port), args.host, resolve));
const origin = `http://${args.host}:${server.address().port}`;
const fhirBase = `${origin}/fhir`;
const issuer = `${origin}/oidc`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: args['client-id'],
    token_endpoint_auth_method: 'none', // a browser app: public client, PKCE required
    redirect_uris: [args['redirect-uri']],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  scopes: ['openid', 'fhirUser', ...PATIENT_SCOPES],
  claims: { openid: ['sub'], fhirUser: ['fhirUser'] },
  extraParams: ['launch', 'aud'],
  findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, fhirUser: `${fhirBase}/Practitioner/${id}` }) }),
  features: {
    devInteractions: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => fhirBase,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: PATIENT_SCOPES.join(' '), accessTokenFormat: 'opaque', audience: fhirBase }),
    },
  },
  pkce: { required: () => true },
  cookies: { keys: [crypto.randomBytes(32).toString('hex')] },
  ttl: { AccessToken: 3600, AuthorizationCode: 120, Grant: 3600, IdToken: 3600, Interaction: 600, Session: 3600 },
});
provider.proxy = false;

// The SMART launch context: the `launch` parameter of the authorization request names what the EHR
// registered; the code issued for it carries it to the token response (patient, appContext).
provider.use(async (ctx, next) => {
  await next();
  const location = ctx.response.get('Location');
  const params = ctx.oidc?.params;
  const code = location ? new URL(location, origin).searchParams.get('code') : null;
  if (code && params?.launch && launches.has(params.launch)) {
    codes.set(code, launches.get(params.launch));
  } else if (code && !params?.launch && String(params?.scope).split(' ').includes('launch/patient') && picked) {
    codes.set(code, { patient: picked }); // standalone launch: the patient the user picked
  }
  if (ctx.path === '/token' && ctx.status === 200 && ctx.body?.access_token) {
    const context = codes.get(ctx.oidc?.params?.code);
    codes.delete(ctx.oidc?.params?.code);
    if (context) {
      ctx.body = { ...ctx.body, patient: context.patient, appContext: context.appContext, need_patient_banner: true };
      tokens.set(ctx.body.access_token, context);
    }
  }
});

const SMART_CONFIGURATION = {
  issuer,
  authorization_endpoint: `${issuer}/auth`,
  token_endpoint: `${issuer}/token`,
  jwks_uri: `${issuer}/jwks`,
  grant_types_supported: ['authorization_code'],
  token_endpoint_auth_methods_supported: ['none'],
  scopes_supported: ['openid', 'fhirUser', ...PATIENT_SCOPES],
  response_types_supported: ['code'],
  code_challenge_methods_supported: ['S256'],
  capabilities: ['launch-ehr', 'launch-standalone', 'client-public', 'context-ehr-patient',
    'context-standalone-patient', 'permission-patient', 'permission-v2', 'sso-openid-connect'],
};

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'authorization, content-type, accept' });
  res.end(text);
}

async function readJson(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}');
}

// Only the token's patient: reads of Patient/<id>, searches with patient=<id>, and Medications
// (referenced by the patient's medication resources; not patient compartment resources).
function permitted(url, patient) {
  const path = url.pathname.slice('/fhir'.length);
  if (path === `/Patient/${patient}`) return true;
  if (/^\/Medication(\/[A-Za-z0-9\-.]+)?$/.test(path)) return true;
  // Medplum's own `next` links name the patient as subject=Patient/<id>.
  const named = [...url.searchParams.getAll('patient'), ...url.searchParams.getAll('subject')];
  return /^\/[A-Z][A-Za-z]+$/.test(path) && named.length === 1 && (named[0] === patient || named[0] === `Patient/${patient}`);
}

async function proxyFhir(req, res, url) {
  if (req.method === 'OPTIONS') { send(res, 204, {}); return; }
  if (url.pathname === '/fhir/.well-known/smart-configuration') { send(res, 200, SMART_CONFIGURATION); return; }
  const upstreamPath = url.pathname.slice('/fhir'.length) + url.search;
  if (url.pathname !== '/fhir/metadata') {
    const bearer = (req.headers.authorization || '').replace(/^Bearer\s+/i, '');
    const token = bearer ? await provider.AccessToken.find(bearer) : undefined;
    const context = tokens.get(bearer);
    if (!token || !context || !token.scope?.split(' ').includes('patient/*.rs')) {
      send(res, 401, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'login', diagnostics: 'invalid access token' }] });
      return;
    }
    if (req.method !== 'GET' || !permitted(url, context.patient)) {
      send(res, 403, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'forbidden', diagnostics: 'outside the patient scope' }] });
      return;
    }
  }
  const upstream = await fetch(`${args.fhir}${upstreamPath}`, {
    headers: { Authorization: `Bearer ${args['fhir-token']}`, Accept: 'application/fhir+json' },
    signal: AbortSignal.timeout(30000),
  });
  const body = await upstream.json();
  // Paging links name Medplum's address: rewrite them to ours, so the app pages through this server.
  for (const link of body.link || []) link.url = link.url.replace(args.fhir, fhirBase);
  send(res, upstream.status, body);
}

const callback = provider.callback();
server.on('request', async (req, res) => {
  const url = new URL(req.url, origin);
  try {
    if (url.pathname === '/oidc' || url.pathname.startsWith('/oidc/')) {
      req.originalUrl = req.url; // mounted under /oidc, as Express's app.use('/oidc', ...) would
      req.url = req.url.slice('/oidc'.length) || '/';
      callback(req, res);
      return;
    }
    if (url.pathname === '/ehr/launch' && req.method === 'POST') {
      const { patient, appContext } = await readJson(req);
      const launch = crypto.randomBytes(16).toString('hex');
      launches.set(launch, { patient, appContext });
      send(res, 200, { launch, iss: fhirBase });
      return;
    }
    if (url.pathname === '/ehr/pick-patient' && req.method === 'POST') {
      picked = (await readJson(req)).patient;
      send(res, 200, { patient: picked });
      return;
    }
    if (url.pathname === '/fhir' || url.pathname.startsWith('/fhir/')) {
      await proxyFhir(req, res, url);
      return;
    }
    send(res, 404, { error: 'not found' });
  } catch (err) {
    send(res, 502, { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'exception', diagnostics: String(err) }] });
  }
});

console.log(`LISTENING ${origin}`);
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => server.close(() => process.exit(0)));
