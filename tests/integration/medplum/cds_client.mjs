// Medplum's own CDS Hooks client calling the rrmm-cds service, as a Medplum-based EHR would.
//
// For each job it reads the service's discovery document, lets `buildCdsRequest` from
// @medplum/core fill the prefetch templates itself against the Medplum FHIR server (one search per
// template, first page only, no fhirServer sent), POSTs the request and records the answer.
//
//   node cds_client.mjs --fhir-origin http://127.0.0.1:P --token T --service http://127.0.0.1:S --jobs jobs.json
//
// jobs.json: [{"id": "...", "serviceId": "...", "context": {...}}]. Prints one JSON array on stdout:
// [{"id", "status", "body", "prefetch": {key: {"entries": n, "next": bool} | null}}].

import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { MedplumClient, buildCdsRequest } from '@medplum/core';

const { values: args } = parseArgs({
  options: {
    'fhir-origin': { type: 'string' },
    token: { type: 'string' },
    service: { type: 'string' },
    jobs: { type: 'string' },
  },
});

const medplum = new MedplumClient({ baseUrl: `${args['fhir-origin']}/`, fhirUrlPath: 'fhir', fetch: globalThis.fetch });
medplum.setAccessToken(args.token);
const user = { resourceType: 'Practitioner', id: 'sample-practitioner' };

async function json(url, init) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(60_000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// What the client put in each key: enough to see whether it sent complete results.
function shape(value) {
  if (value === null || value === undefined) return null;
  if (value.resourceType !== 'Bundle') return { entries: 1, next: false };
  return { entries: (value.entry ?? []).length, next: (value.link ?? []).some((l) => l.relation === 'next') };
}

const discovery = await json(`${args.service}/cds-services`);
const services = new Map(discovery.body.services.map((s) => [s.id, s]));
const results = [];
for (const job of JSON.parse(readFileSync(args.jobs, 'utf8'))) {
  const service = services.get(job.serviceId);
  const request = await buildCdsRequest(medplum, user, service, job.context);
  const answer = await json(`${args.service}/cds-services/${service.id}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(request),
  });
  const prefetch = Object.fromEntries(Object.entries(request.prefetch).map(([k, v]) => [k, shape(v)]));
  results.push({ id: job.id, status: answer.status, body: answer.body, prefetch });
}
process.stdout.write(JSON.stringify(results));
