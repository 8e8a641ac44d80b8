#!/usr/bin/env node
/*
 * okta_runscope.js: run Okta's published SCIM 2.0 test suites (Runscope test exports) against a
 * SCIM server, without Runscope.
 *
 * What the suites are. Okta asks every SCIM integration it lists to pass two Runscope tests:
 *   - "Okta SCIM 2.0 SPEC Test" (okta/Okta-SCIM-20-SPEC-Test.json, environment script
 *     okta/Initial_Script_Spec.txt): direct SCIM requests (list, get, filter, create, duplicate
 *     create, 401, 404, /Groups) with Runscope assertions on each response.
 *   - "Okta SCIM 2.0 CRUD Test" (okta/Okta-SCIM-20-CRUD-Test.json, okta/Initial_Script_CRUD.txt):
 *     a user's life cycle driven through the *Okta* management API (create the Okta user, assign
 *     it to the SCIM app, update, deactivate, reactivate, reassign, unassign), each Okta step
 *     followed by a direct SCIM GET that checks what Okta provisioned.
 * Where they come from: developer.okta.com/standards/SCIM/SCIMFiles/ (github.com/okta/
 * okta-developer-docs); SOURCES.md in the suites directory gives the commits and the licence.
 * The files are read at run time from the suites directory and never changed on disk.
 *
 * What this runner adapts, in memory only:
 *   1. Runscope environment variables the exports expect but do not define: SPEC: `SCIMBaseURL`
 *      (the server's base URL) and `auth` ("Bearer <token>"); CRUD: `SCIMUrl`, `SCIMAuth` (same
 *      values), and `oktaOrgUrl`, `oktaAppId`, `oktaToken`, which point at an Okta org. They are
 *      set before the initial script runs, as a Runscope environment would.
 *   2. CRUD only: there is no Okta org here, so every request whose URL starts with `oktaOrgUrl`
 *      (set to the unroutable `okta-emulated://okta.invalid`) is answered by a small Okta
 *      emulator in this file and never leaves the process. The emulator answers as Okta's API
 *      would (200/204 with the shapes the suite reads: the new user's `id`) and, where Okta would
 *      provision, sends the SCIM requests Okta sends (shared/reference/scim-idp.md section 2,
 *      OKTA-REF/OKTA-WIRE): assign = GET /Users?filter=userName eq "..." then POST /Users (or,
 *      when found, link + reactivate + profile push); profile update = GET /Users/{id} + PUT of
 *      that body with Okta's changes; deactivate / unassign = PATCH replace {"active":false}.
 *      `--okta-style aiw` makes it behave like an App Integration Wizard app instead (GET + PUT
 *      for activation and deactivation too). Each SCIM request the emulator sends is checked as
 *      Okta would check it (2xx, 201 for a create) and printed as an assertion marked
 *      "[okta-emulated]"; those lines are the runner's, not the suite's.
 *   3. Pause steps (5-40 s, for Okta's asynchronous provisioning) sleep at most
 *      RUNSCOPE_MAX_PAUSE_S seconds (default 0.2): the emulated provisioning is synchronous.
 * Nothing else is changed: URLs, headers, bodies, assertions and scripts are the export's.
 *
 * Runscope semantics implemented (Runscope's assertion docs, "Comparisons"; our reading where
 * the docs are terse): the actual value is taken from `source` (response_status, response_json
 * with a JavaScript-style `property` path such as `Resources[0].name.givenName` or
 * `["urn:...:User"].manager`, response_headers / response_header, response_text, response_time
 * in ms, response_size in bytes); JSON scalars compare as their JSON text (true -> "true",
 * 0 -> "0"). equal / not_equal: string equality; empty / not_empty (also is_empty /
 * is_not_empty): missing, null, "", [] and {} are empty (false and 0 are values); contains /
 * does_not_contain: substring of a string, or an element of an array; has_value: an array
 * holding the value (or an object with it as a value); has_key: an object with that key;
 * is_null; is_a_number: a JSON number or numeric text; equal_number, is_less_than,
 * is_less_than_or_equal, is_greater_than, is_greater_than_or_equal: numeric. An unknown
 * comparison fails with "runner: unsupported comparison" rather than passing. Step `variables`
 * are extracted the same way. `{{name}}` is replaced by the variable's value (an unknown name is
 * left as written, as Runscope leaves it). Per-step `scripts` / `before_scripts` run in a vm
 * sandbox with `response` (status, body, headers, response_time_ms, size_bytes), `request`,
 * `variables` (get/set), `log`, `console` and a chai-style `assert` (each call is an assertion
 * line; a failing one stops that script, as chai's throw does).
 *
 * Usage:
 *   node okta_runscope.js --suite spec|crud --base-url URL --token TOKEN
 *        [--suites DIR] [--flavour server|cloud] [--okta-style oin|aiw] [--json-out FILE]
 * The suites directory: --suites, else $EXTERNAL_SUITES, else <repo>/../shared/external-suites.
 * Output: one PASS/FAIL line per assertion (step, request, actual value), the failing step's
 * request and response, and a summary; exit 0 when every failure is listed in KNOWN below,
 * 1 otherwise, 2 when the runner itself cannot run.
 */
'use strict';

// Failures judged justified: key "SUITE|FLAVOUR|STEP NOTE|ASSERTION" (as printed after "key:"
// on each FAIL line; `*` matches anything) -> why. Empty on purpose until each is reviewed.
const KNOWN = {};

const { knownReasonIn } = require('./known');
const knownReason = (key) => knownReasonIn(KNOWN, key);

const fs = require('fs');
const path = require('path');
const http = require('http');
const https = require('https');
const vm = require('vm');
const crypto = require('crypto');

// ---------------------------------------------------------------------------------------------
// arguments

function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    if (eq > 0) out[a.slice(2, eq)] = a.slice(eq + 1);
    else out[a.slice(2)] = argv[++i];
  }
  return out;
}

const SUITES = {
  spec: {
    label: 'okta-spec',
    file: 'okta/Okta-SCIM-20-SPEC-Test.json',
    init: 'okta/Initial_Script_Spec.txt',
    env: (base, auth) => ({ SCIMBaseURL: base, auth }),
  },
  crud: {
    label: 'okta-crud',
    file: 'okta/Okta-SCIM-20-CRUD-Test.json',
    init: 'okta/Initial_Script_CRUD.txt',
    env: (base, auth) => ({
      SCIMUrl: base,
      SCIMAuth: auth,
      oktaOrgUrl: OKTA_EMULATED_ORG,
      oktaAppId: '0oaemulatedscimapp',
      oktaToken: 'emulated-okta-api-token',
    }),
  },
};

const OKTA_EMULATED_ORG = 'okta-emulated://okta.invalid';

// ---------------------------------------------------------------------------------------------
// values, paths, variables

function str(v) {
  if (v === undefined) return undefined;
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

function show(v, max = 160) {
  if (v === undefined) return '(missing)';
  let s = typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v);
  if (s === undefined) s = String(v);
  return s.length > max ? s.slice(0, max) + '...' : s;
}

// `Resources[0].name.givenName`, `a["b.c"]`, `[0].x`: a list of keys.
function parsePath(p) {
  const keys = [];
  let i = 0;
  while (i < p.length) {
    if (p[i] === '.') { i++; continue; }
    if (p[i] === '[') {
      const close = p.indexOf(']', i);
      if (close < 0) throw new Error(`unclosed [ in property ${p}`);
      let inner = p.slice(i + 1, close).trim();
      if (/^(["']).*\1$/.test(inner)) inner = inner.slice(1, -1);
      keys.push(/^\d+$/.test(inner) ? Number(inner) : inner);
      i = close + 1;
      continue;
    }
    let j = i;
    while (j < p.length && p[j] !== '.' && p[j] !== '[') j++;
    keys.push(p.slice(i, j));
    i = j;
  }
  return keys;
}

function getPath(obj, p) {
  if (p === undefined || p === null || p === '') return obj;
  let cur = obj;
  for (const k of parsePath(p)) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    if (!Object.prototype.hasOwnProperty.call(cur, k)) return undefined;
    cur = cur[k];
  }
  return cur;
}

class Variables {
  constructor() { this.map = new Map(); }
  get(name) { return this.map.get(name); }
  set(name, value) { this.map.set(String(name), value === undefined ? undefined : str(value)); }
  has(name) { return this.map.has(name) && this.map.get(name) !== undefined; }
  subst(text) {
    if (text === undefined || text === null) return text;
    return String(text).replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (m, name) => (this.has(name) ? this.map.get(name) : m));
  }
  unresolved(text) {
    const names = [];
    String(text || '').replace(/\{\{\s*([^{}]+?)\s*\}\}/g, (m, n) => { names.push(n); return m; });
    return names;
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP

function headerList(headers, vars) {
  // Runscope exports hold {name: [values]} or {name: "value"}.
  const out = [];
  for (const [name, v] of Object.entries(headers || {})) {
    for (const one of Array.isArray(v) ? v : [v]) out.push([name, vars ? vars.subst(String(one)) : String(one)]);
  }
  return out;
}

function send(method, urlText, headers, body) {
  return new Promise((resolve) => {
    let url;
    try {
      url = new URL(urlText);
    } catch (e) {
      resolve({ error: `bad URL ${urlText}: ${e.message}`, status: 0, headers: {}, text: '', timeMs: 0, size: 0 });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      resolve({ error: `refusing to send to ${url.protocol} URL ${urlText}`, status: 0, headers: {}, text: '', timeMs: 0, size: 0 });
      return;
    }
    const mod = url.protocol === 'https:' ? https : http;
    const h = {};
    for (const [name, value] of headers) {
      if (h[name] === undefined) h[name] = value;
      else h[name] = [].concat(h[name], value);
    }
    const payload = body !== undefined && body !== null && body !== '' ? Buffer.from(body, 'utf8') : null;
    if (payload) h['Content-Length'] = String(payload.length);
    const started = process.hrtime.bigint();
    const req = mod.request(url, { method, headers: h, timeout: 30000 }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const buf = Buffer.concat(chunks);
        resolve({
          status: res.statusCode,
          headers: res.headers,
          text: buf.toString('utf8'),
          size: buf.length,
          timeMs: Number(process.hrtime.bigint() - started) / 1e6,
        });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timed out after 30 s')));
    req.on('error', (e) => resolve({ error: e.message, status: 0, headers: {}, text: '', size: 0, timeMs: Number(process.hrtime.bigint() - started) / 1e6 }));
    if (payload) req.write(payload);
    req.end();
  });
}

function jsonOf(resp) {
  if (resp._json !== undefined) return resp._json;
  try {
    resp._json = resp.text === '' ? null : JSON.parse(resp.text);
    resp._jsonError = null;
  } catch (e) {
    resp._json = null;
    resp._jsonError = `response body is not JSON (${e.message})`;
  }
  return resp._json;
}

function headerValue(resp, name) {
  const v = resp.headers[String(name).toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}

// ---------------------------------------------------------------------------------------------
// sources and comparisons

function actualOf(source, property, resp) {
  switch (source) {
    case 'response_status': return { value: resp.status };
    case 'response_json': {
      const j = jsonOf(resp);
      if (resp._jsonError) return { value: undefined, note: resp._jsonError };
      return { value: getPath(j, property) };
    }
    case 'response_header':
    case 'response_headers': return { value: headerValue(resp, property) };
    case 'response_text':
    case 'response_body': return { value: resp.text };
    case 'response_time': return { value: Math.round(resp.timeMs) };
    case 'response_size': return { value: resp.size };
    default: return { value: undefined, note: `runner: unsupported source ${source}` };
  }
}

function isEmpty(v) {
  if (v === undefined || v === null) return true;
  if (typeof v === 'string') return v.length === 0;
  if (Array.isArray(v)) return v.length === 0;
  if (typeof v === 'object') return Object.keys(v).length === 0;
  return false;
}

function num(v) {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return NaN;
}

const COMPARISONS = {
  equal: (a, e) => a !== undefined && str(a) === e,
  not_equal: (a, e) => str(a) !== e,
  empty: (a) => isEmpty(a),
  is_empty: (a) => isEmpty(a),
  not_empty: (a) => !isEmpty(a),
  is_not_empty: (a) => !isEmpty(a),
  contains: (a, e) => (Array.isArray(a) ? a.some((x) => str(x) === e) : a !== undefined && a !== null && str(a).includes(e)),
  does_not_contain: (a, e) => !(Array.isArray(a) ? a.some((x) => str(x) === e) : a !== undefined && a !== null && str(a).includes(e)),
  has_value: (a, e) => (Array.isArray(a) ? a.some((x) => str(x) === e) : a !== null && typeof a === 'object' && Object.values(a).some((x) => str(x) === e)),
  has_key: (a, e) => a !== null && typeof a === 'object' && !Array.isArray(a) && Object.prototype.hasOwnProperty.call(a, e),
  is_null: (a) => a === null,
  is_a_number: (a) => typeof a === 'number' || (typeof a === 'string' && !Number.isNaN(num(a))),
  equal_number: (a, e) => !Number.isNaN(num(a)) && num(a) === num(e),
  is_less_than: (a, e) => num(a) < num(e),
  is_less_than_or_equal: (a, e) => num(a) <= num(e),
  is_greater_than: (a, e) => num(a) > num(e),
  is_greater_than_or_equal: (a, e) => num(a) >= num(e),
};

function describeAssertion(a) {
  const parts = [a.source];
  if (a.property !== undefined && a.property !== null && a.property !== '') parts.push(a.property);
  parts.push(a.comparison);
  if (a.value !== undefined && a.value !== null) parts.push(JSON.stringify(String(a.value)));
  return parts.join(' ');
}

// ---------------------------------------------------------------------------------------------
// chai-style assert for step scripts

function makeAssert(record) {
  const check = (ok, message, detail) => {
    record(!!ok, message || detail, detail);
    if (!ok) {
      const err = new Error(message || detail);
      err.isAssertion = true;
      throw err;
    }
  };
  const deepEq = (x, y) => JSON.stringify(x) === JSON.stringify(y);
  const fns = {
    ok: (v, m) => check(v, m, `expected ${show(v)} to be truthy`),
    isOk: (v, m) => check(v, m, `expected ${show(v)} to be truthy`),
    notOk: (v, m) => check(!v, m, `expected ${show(v)} to be falsy`),
    isNotOk: (v, m) => check(!v, m, `expected ${show(v)} to be falsy`),
    equal: (a, b, m) => check(a == b, m, `expected ${show(a)} == ${show(b)}`), // eslint-disable-line eqeqeq
    notEqual: (a, b, m) => check(a != b, m, `expected ${show(a)} != ${show(b)}`), // eslint-disable-line eqeqeq
    strictEqual: (a, b, m) => check(a === b, m, `expected ${show(a)} === ${show(b)}`),
    notStrictEqual: (a, b, m) => check(a !== b, m, `expected ${show(a)} !== ${show(b)}`),
    deepEqual: (a, b, m) => check(deepEq(a, b), m, `expected ${show(a)} to deeply equal ${show(b)}`),
    notDeepEqual: (a, b, m) => check(!deepEq(a, b), m, `expected ${show(a)} not to deeply equal ${show(b)}`),
    isTrue: (v, m) => check(v === true, m, `expected ${show(v)} to be true`),
    isFalse: (v, m) => check(v === false, m, `expected ${show(v)} to be false`),
    isNull: (v, m) => check(v === null, m, `expected ${show(v)} to be null`),
    isNotNull: (v, m) => check(v !== null, m, `expected ${show(v)} not to be null`),
    isDefined: (v, m) => check(v !== undefined, m, 'expected a defined value'),
    isUndefined: (v, m) => check(v === undefined, m, `expected ${show(v)} to be undefined`),
    exists: (v, m) => check(v !== undefined && v !== null, m, 'expected a value'),
    notExists: (v, m) => check(v === undefined || v === null, m, `expected no value, got ${show(v)}`),
    isArray: (v, m) => check(Array.isArray(v), m, `expected ${show(v)} to be an array`),
    isNotArray: (v, m) => check(!Array.isArray(v), m, `expected ${show(v)} not to be an array`),
    isObject: (v, m) => check(v !== null && typeof v === 'object' && !Array.isArray(v), m, `expected ${show(v)} to be an object`),
    isString: (v, m) => check(typeof v === 'string', m, `expected ${show(v)} to be a string`),
    isNumber: (v, m) => check(typeof v === 'number', m, `expected ${show(v)} to be a number`),
    isBoolean: (v, m) => check(typeof v === 'boolean', m, `expected ${show(v)} to be a boolean`),
    typeOf: (v, t, m) => check((Array.isArray(v) ? 'array' : v === null ? 'null' : typeof v) === t, m, `expected ${show(v)} to be of type ${t}`),
    include: (h, n, m) => check(h !== undefined && h !== null && (typeof h === 'string' || Array.isArray(h) ? h.includes(n) : Object.keys(n).every((k) => deepEq(h[k], n[k]))), m, `expected ${show(h)} to include ${show(n)}`),
    notInclude: (h, n, m) => check(!(h !== undefined && h !== null && (typeof h === 'string' || Array.isArray(h)) && h.includes(n)), m, `expected ${show(h)} not to include ${show(n)}`),
    lengthOf: (v, n, m) => check(v !== undefined && v !== null && v.length === n, m, `expected ${show(v)} to have length ${n}`),
    property: (o, p, m) => check(o !== null && typeof o === 'object' && p in o, m, `expected ${show(o)} to have property ${p}`),
    propertyVal: (o, p, val, m) => check(o !== null && typeof o === 'object' && o[p] === val, m, `expected ${show(o)} to have property ${p} = ${show(val)}`),
    match: (v, re, m) => check(typeof v === 'string' && re.test(v), m, `expected ${show(v)} to match ${re}`),
    isAbove: (v, n, m) => check(v > n, m, `expected ${show(v)} > ${n}`),
    isBelow: (v, n, m) => check(v < n, m, `expected ${show(v)} < ${n}`),
    isAtLeast: (v, n, m) => check(v >= n, m, `expected ${show(v)} >= ${n}`),
    isAtMost: (v, n, m) => check(v <= n, m, `expected ${show(v)} <= ${n}`),
    fail: (m) => check(false, m, 'assert.fail()'),
  };
  const base = (v, m) => check(v, m, `expected ${show(v)} to be truthy`);
  Object.assign(base, fns);
  return new Proxy(base, {
    get(target, prop) {
      if (prop in target) return target[prop];
      return () => { throw new Error(`runner: assert.${String(prop)} is not implemented by this runner`); };
    },
  });
}

// ---------------------------------------------------------------------------------------------
// the Okta emulator (CRUD suite): Okta API calls in, SCIM requests out

class OktaEmulator {
  constructor(vars, style, runner) {
    this.vars = vars;
    this.style = style; // 'oin' | 'aiw'
    this.runner = runner;
    this.users = new Map(); // okta user id -> {id, status, profile}
    this.assignments = new Map(); // okta user id -> {scimId, profile (app user profile)}
  }

  scimBase() { return this.vars.get('SCIMUrl'); }

  scimHeaders(withBody) {
    const h = [
      ['Accept', 'application/scim+json'],
      ['Authorization', this.vars.get('SCIMAuth')],
      ['User-Agent', 'Okta SCIM Client 1.0.0'],
    ];
    if (withBody) h.push(['Content-Type', 'application/scim+json; charset=utf-8']);
    return h;
  }

  // One SCIM request Okta would send, checked as Okta checks it.
  async scim(why, method, pathAndQuery, body, expected) {
    const url = this.scimBase() + pathAndQuery;
    const bodyText = body === undefined ? undefined : JSON.stringify(body);
    const resp = await send(method, url, this.scimHeaders(bodyText !== undefined), bodyText);
    const ok = expected.includes(resp.status);
    this.runner.recordEmulated({ why, method, url, body: bodyText, resp, expected, ok });
    return { ok, resp, json: jsonOf(resp) };
  }

  reply(status, body) {
    const text = body === undefined ? '' : JSON.stringify(body);
    return { status, headers: { 'content-type': 'application/json' }, text, size: Buffer.byteLength(text), timeMs: 0, emulated: true };
  }

  oktaError(status, summary) {
    return this.reply(status, { errorCode: 'E0000007', errorSummary: summary, errorCauses: [] });
  }

  async handle(method, url, bodyText) {
    const rest = url.slice(OKTA_EMULATED_ORG.length);
    const [p] = rest.split('?');
    let body = null;
    if (bodyText) {
      try { body = JSON.parse(bodyText); } catch (e) { return this.oktaError(400, `runner: body is not JSON: ${e.message}`); }
    }
    const appId = this.vars.get('oktaAppId');
    let m;
    if (method === 'GET' && p === `/api/v1/apps/${appId}`) {
      return this.reply(200, { id: appId, name: 'scim2testapp', label: 'SCIM 2.0 Test App (emulated)', status: 'ACTIVE',
        features: ['PUSH_NEW_USERS', 'PUSH_PROFILE_UPDATES', 'PUSH_USER_DEACTIVATION', 'REACTIVATE_USERS'] });
    }
    if (method === 'POST' && p === '/api/v1/users') {
      const id = '00u' + crypto.randomBytes(8).toString('hex').slice(0, 17);
      const user = { id, status: 'ACTIVE', profile: (body && body.profile) || {} };
      this.users.set(id, user);
      return this.reply(200, { id, status: user.status, profile: user.profile });
    }
    if (method === 'POST' && p === `/api/v1/apps/${appId}/users`) {
      const uid = body && body.id;
      if (!this.users.has(uid)) return this.oktaError(404, `Not found: Resource not found: ${uid} (User)`);
      const appProfile = Object.assign({}, body.profile || {});
      const userName = (body.credentials && body.credentials.userName) || appProfile.email;
      const scimId = await this.assign(uid, userName, appProfile);
      return this.reply(200, { id: uid, scope: body.scope || 'USER', status: scimId ? 'PROVISIONED' : 'PROVISIONING_FAILED',
        externalId: scimId || null, credentials: { userName }, profile: appProfile });
    }
    if ((m = p.match(/^\/api\/v1\/users\/([^/]+)$/)) && (method === 'PUT' || method === 'POST')) {
      const user = this.users.get(m[1]);
      if (!user) return this.oktaError(404, `Not found: Resource not found: ${m[1]} (User)`);
      user.profile = Object.assign({}, (body && body.profile) || {});
      const a = this.assignments.get(user.id);
      if (a) {
        // Okta's default To App mappings: firstName -> givenName, lastName -> familyName, email.
        if (user.profile.firstName !== undefined) a.profile.givenName = user.profile.firstName;
        if (user.profile.lastName !== undefined) a.profile.familyName = user.profile.lastName;
        if (user.profile.email !== undefined) a.profile.email = user.profile.email;
        await this.pushProfile(a, {});
      }
      return this.reply(200, { id: user.id, status: user.status, profile: user.profile });
    }
    if ((m = p.match(/^\/api\/v1\/users\/([^/]+)\/lifecycle\/(deactivate|activate)$/)) && method === 'POST') {
      const user = this.users.get(m[1]);
      if (!user) return this.oktaError(404, `Not found: Resource not found: ${m[1]} (User)`);
      if (m[2] === 'deactivate') {
        user.status = 'DEPROVISIONED';
        // Deactivating an Okta user deactivates its app users and ends its assignments.
        const a = this.assignments.get(user.id);
        if (a) {
          await this.setActive(a, false, 'Okta user deactivated: deprovision the app user');
          this.assignments.delete(user.id);
        }
        return this.reply(200, {});
      }
      user.status = 'ACTIVE'; // an Okta user with no assignment: nothing to provision
      return this.reply(200, {});
    }
    if ((m = p.match(new RegExp(`^/api/v1/apps/${appId}/users/([^/]+)$`))) && method === 'DELETE') {
      const a = this.assignments.get(m[1]);
      if (!a) return this.oktaError(404, `Not found: Resource not found: ${m[1]} (AppUser)`);
      await this.setActive(a, false, 'unassigned from the app: deprovision (Okta never sends DELETE)');
      this.assignments.delete(m[1]);
      return this.reply(204);
    }
    this.runner.note(`runner: the Okta emulator does not know ${method} ${p}`);
    return this.oktaError(404, `runner: the Okta emulator does not know ${method} ${p}`);
  }

  // Assignment: Okta's create flow (scim-idp.md 2.3, 2.6).
  async assign(uid, userName, profile) {
    const filter = encodeURIComponent(`userName eq "${userName}"`);
    const found = await this.scim('assign: look the user up by userName', 'GET', `/Users?filter=${filter}&startIndex=1&count=100`, undefined, [200]);
    if (!found.ok || !found.json) return null;
    const existing = Array.isArray(found.json.Resources) && found.json.Resources.length > 0 ? found.json.Resources[0] : null;
    if (existing) {
      const a = { scimId: existing.id, profile, userName };
      this.assignments.set(uid, a);
      if (existing.active === false) {
        if (this.style === 'aiw') {
          await this.pushProfile(a, { active: true }, 'assign, user found inactive: reactivate with a profile push');
          return a.scimId;
        }
        await this.setActive(a, true, 'assign, user found inactive: reactivate');
      }
      await this.pushProfile(a, {}, 'assign, user found: push the profile');
      return a.scimId;
    }
    const emailType = profile.emailType || 'work';
    const create = {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName,
      name: { givenName: profile.givenName, familyName: profile.familyName },
      emails: [{ primary: true, value: profile.email, type: emailType }],
      displayName: `${profile.givenName} ${profile.familyName}`,
      locale: 'en-US',
      externalId: uid,
      groups: [],
      password: crypto.randomBytes(6).toString('base64').slice(0, 8),
      active: true,
    };
    const created = await this.scim('assign, user not found: create it', 'POST', '/Users', create, [201]);
    if (!created.ok || !created.json || !created.json.id) return null;
    this.assignments.set(uid, { scimId: created.json.id, profile, userName });
    return created.json.id;
  }

  // Profile push (2.4): GET, then PUT of that body with Okta's values (and `extra`).
  async pushProfile(a, extra, why = 'profile update: push the profile') {
    const got = await this.scim(`${why} (read)`, 'GET', `/Users/${encodeURIComponent(a.scimId)}`, undefined, [200]);
    if (!got.ok || !got.json) return false;
    const body = JSON.parse(JSON.stringify(got.json));
    delete body.password;
    body.userName = a.userName;
    body.name = Object.assign({}, body.name || {}, { givenName: a.profile.givenName, familyName: a.profile.familyName });
    body.displayName = `${a.profile.givenName} ${a.profile.familyName}`;
    const emails = Array.isArray(body.emails) ? body.emails : [];
    const work = emails.find((e) => e && e.type === (a.profile.emailType || 'work')) || emails.find((e) => e && e.primary);
    if (work) work.value = a.profile.email;
    else body.emails = [{ primary: true, value: a.profile.email, type: a.profile.emailType || 'work' }];
    Object.assign(body, extra);
    const put = await this.scim(`${why} (write)`, 'PUT', `/Users/${encodeURIComponent(a.scimId)}`, body, [200]);
    return put.ok;
  }

  // Deactivation / reactivation (2.5, 2.6): OIN templates PATCH, AIW apps GET + PUT.
  async setActive(a, active, why) {
    if (this.style === 'aiw') return this.pushProfile(a, { active }, why);
    const patch = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', value: { active } }] };
    const r = await this.scim(why, 'PATCH', `/Users/${encodeURIComponent(a.scimId)}`, patch, [200, 204]);
    return r.ok;
  }
}

// ---------------------------------------------------------------------------------------------
// the runner

function trim(text, max = 1200) {
  if (text === undefined || text === null) return '';
  const s = String(text).replace(/\s+/g, ' ').trim();
  return s.length > max ? s.slice(0, max) + ` ... (${s.length} chars)` : s;
}

class Runner {
  constructor(opts) {
    this.opts = opts;
    this.vars = new Variables();
    this.results = []; // {ok, known, key, line}
    this.steps = []; // for --json-out
    this.current = null;
    this.maxPause = Number(process.env.RUNSCOPE_MAX_PAUSE_S || '0.2');
    this.okta = new OktaEmulator(this.vars, opts.oktaStyle, this);
  }

  note(msg) { console.log(`  NOTE ${msg}`); if (this.current) this.current.notes.push(msg); }

  result(ok, what, actualText, extraKey) {
    const step = this.current;
    const key = `${this.opts.suiteLabel}|${this.opts.flavour}|${step.note}|${extraKey || what}`;
    const reason = ok ? undefined : knownReason(key);
    const known = reason !== undefined;
    const tag = ok ? 'PASS' : known ? 'KNOWN' : 'FAIL';
    const line = `${tag} [${this.opts.suiteLabel}/${this.opts.flavour}] step ${step.index} "${step.note}" ${step.method} ${step.url} :: ${what} => actual ${actualText}`;
    console.log(line);
    if (!ok) console.log(`     key: ${key}${known ? `  (known: ${reason})` : ''}`);
    this.results.push({ ok, known, key, line });
    step.assertions.push({ ok, known, key, what, actual: actualText });
    if (!ok) step.failed = true;
  }

  recordEmulated(x) {
    const step = this.current;
    const what = `[okta-emulated] ${x.why}: ${x.method} ${x.url.slice(this.vars.get('SCIMUrl').length)} expects ${x.expected.join(' or ')}`;
    step.emulated.push({ why: x.why, method: x.method, url: x.url, requestBody: x.body, status: x.resp.status, error: x.resp.error, responseBody: x.resp.text, expected: x.expected, ok: x.ok });
    this.result(x.ok, what, x.resp.error ? `error ${x.resp.error}` : String(x.resp.status), `[okta-emulated] ${x.why}: ${x.method}`);
    if (!x.ok) {
      console.log(`     request: ${x.method} ${x.url}${x.body ? ' body ' + trim(x.body, 800) : ''}`);
      console.log(`     response: ${x.resp.status} ${trim(x.resp.text, 800)}`);
    }
  }

  runScript(code, context, label) {
    const record = (ok, message, detail) => this.result(ok, `${label} assert: ${message}`, ok ? 'ok' : detail || message, `${label} assert: ${message}`);
    const sandbox = Object.assign({
      variables: { get: (n) => this.vars.get(n), set: (n, v) => this.vars.set(n, v) },
      assert: makeAssert(record),
      log: (...a) => console.log(`  LOG ${a.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join(' ')}`),
      console: { log: (...a) => console.log(`  LOG ${a.join(' ')}`), error: (...a) => console.log(`  LOG ${a.join(' ')}`) },
    }, context);
    try {
      vm.runInNewContext(code, sandbox, { timeout: 5000, filename: label });
    } catch (e) {
      if (!e || !e.isAssertion) this.result(false, `${label} threw`, String(e && e.message), `${label} threw`);
    }
  }

  async runStep(step, index) {
    const note = this.vars.subst(step.note || `${step.method} ${step.url}`);
    const method = (step.method || 'GET').toUpperCase();
    const url = this.vars.subst(step.url || '');
    const headers = headerList(step.headers, this.vars);
    const body = step.body ? this.vars.subst(step.body) : undefined;
    this.current = { index, note: step.note || note, method, url, requestHeaders: headers, requestBody: body, assertions: [], emulated: [], notes: [], failed: false };
    this.steps.push(this.current);
    for (const n of this.vars.unresolved(url + ' ' + (body || '') + ' ' + headers.map((h) => h[1]).join(' '))) {
      this.note(`{{${n}}} has no value: sent as written`);
    }
    if ((step.form && Object.keys(step.form).length) || (step.multipart_form && step.multipart_form.length) || step.binary_body) {
      this.note('runner: form, multipart and binary bodies are not implemented; sent without them');
    }
    for (const [i, code] of (step.before_scripts || []).entries()) {
      if (code && code.trim()) this.runScript(code, { request: { method, url, headers: Object.fromEntries(headers), body } }, `before_script ${i + 1}`);
    }

    let resp;
    if (url.startsWith(OKTA_EMULATED_ORG)) {
      resp = await this.okta.handle(method, url, body);
    } else {
      resp = await send(method, url, headers, body);
    }
    this.current.status = resp.status;
    this.current.responseHeaders = resp.headers;
    this.current.responseBody = resp.text;
    this.current.emulatedOkta = !!resp.emulated;
    if (resp.error) this.note(`request failed: ${resp.error}`);

    for (const a of step.assertions || []) {
      const expected = a.value === undefined || a.value === null ? undefined : this.vars.subst(String(a.value));
      const { value, note: why } = actualOf(a.source, a.property, resp);
      const cmp = COMPARISONS[a.comparison];
      const what = describeAssertion(a) + (expected !== undefined && expected !== String(a.value) ? ` (= ${JSON.stringify(expected)})` : '');
      if (!cmp) {
        this.result(false, what, `runner: unsupported comparison ${a.comparison}`, describeAssertion(a));
        continue;
      }
      this.result(cmp(value, expected), what, show(value) + (why ? ` (${why})` : ''), describeAssertion(a));
    }

    for (const v of step.variables || []) {
      if (!v || !v.name) continue;
      const { value, note: why } = actualOf(v.source, v.property, resp);
      if (value === undefined) {
        this.note(`variable ${v.name} from ${v.source} ${v.property || ''}: no value${why ? ' (' + why + ')' : ''}; left unset`);
        continue;
      }
      this.vars.set(v.name, value);
    }

    for (const [i, code] of (step.scripts || []).entries()) {
      if (!code || !code.trim()) continue;
      const response = { status: resp.status, body: resp.text, headers: resp.headers, response_time_ms: Math.round(resp.timeMs), size_bytes: resp.size };
      this.runScript(code, { response, request: { method, url, headers: Object.fromEntries(headers), body } }, `script ${i + 1}`);
    }

    if (this.current.failed) {
      console.log(`     request: ${method} ${url}${body ? ' body ' + trim(body, 800) : ''}${resp.emulated ? '  (answered by the Okta emulator)' : ''}`);
      console.log(`     response: ${resp.status}${resp.error ? ' (' + resp.error + ')' : ''} ${trim(resp.text, 800)}`);
    }
  }

  async run(test, initScript) {
    this.runScriptInit(initScript);
    let index = 0;
    for (const step of test.steps || []) {
      index++;
      if (step.skipped) { console.log(`  SKIP step ${index} (marked skipped in the export)`); continue; }
      if (step.step_type === 'pause') {
        const s = Math.min(Number(step.duration || 0), this.maxPause);
        if (s > 0) await new Promise((r) => setTimeout(r, s * 1000));
        continue;
      }
      if (step.step_type !== 'request') {
        this.current = { index, note: `${step.step_type} step`, method: '-', url: '-', assertions: [], emulated: [], notes: [] };
        this.result(false, `runner: step type ${step.step_type} is not implemented`, '-');
        continue;
      }
      await this.runStep(step, index);
    }
  }

  runScriptInit(code) {
    const sandbox = {
      variables: { get: (n) => this.vars.get(n), set: (n, v) => this.vars.set(n, v) },
      log: (...a) => console.log(`  LOG ${a.join(' ')}`),
      console: { log: (...a) => console.log(`  LOG ${a.join(' ')}`) },
    };
    vm.runInNewContext(code, sandbox, { timeout: 5000, filename: 'initial script' });
  }
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(e.message);
    return 2;
  }
  const suite = SUITES[args.suite];
  if (!suite) {
    console.error('usage: node okta_runscope.js --suite spec|crud --base-url URL --token TOKEN [--suites DIR] [--flavour F] [--okta-style oin|aiw] [--json-out FILE]');
    return 2;
  }
  const suitesDir = path.resolve(args.suites || process.env.EXTERNAL_SUITES || path.join(__dirname, '..', '..', '..', 'shared', 'external-suites'));
  const base = (args['base-url'] || process.env.SCIM_BASE_URL || '').replace(/\/+$/, '');
  const token = args.token || process.env.SCIM_TOKEN;
  if (!base || !token) {
    console.error('--base-url and --token (or SCIM_BASE_URL, SCIM_TOKEN) are required');
    return 2;
  }
  const oktaStyle = args['okta-style'] || 'oin';
  if (!['oin', 'aiw'].includes(oktaStyle)) {
    console.error('--okta-style is oin or aiw');
    return 2;
  }
  let test;
  let init;
  try {
    test = JSON.parse(fs.readFileSync(path.join(suitesDir, suite.file), 'utf8'));
    init = fs.readFileSync(path.join(suitesDir, suite.init), 'utf8');
  } catch (e) {
    console.error(`cannot read the suite from ${suitesDir}: ${e.message}`);
    return 2;
  }
  const label = args.suite === 'crud' ? `${suite.label}-${oktaStyle}` : suite.label;
  const runner = new Runner({ suiteLabel: label, flavour: args.flavour || process.env.FLAVOUR || 'unknown', oktaStyle });
  for (const [k, v] of Object.entries(suite.env(base, `Bearer ${token}`))) runner.vars.set(k, v);
  console.log(`== ${test.name} (${suite.file}) against ${base}, flavour ${runner.opts.flavour}${args.suite === 'crud' ? `, Okta emulated as ${oktaStyle.toUpperCase()}` : ''}`);
  try {
    await runner.run(test, init);
  } catch (e) {
    console.error(`runner error: ${e && e.stack}`);
    return 2;
  }
  const passed = runner.results.filter((r) => r.ok).length;
  const known = runner.results.filter((r) => !r.ok && r.known).length;
  const failed = runner.results.filter((r) => !r.ok && !r.known).length;
  if (args['json-out']) {
    fs.writeFileSync(args['json-out'], JSON.stringify({ suite: label, flavour: runner.opts.flavour, base, steps: runner.steps }, null, 1));
  }
  console.log(`${label} (${runner.opts.flavour}): ${known} known failures`);
  console.log(`${label}: ${passed} passed, ${failed} failed`);
  if (runner.results.length === 0) {
    console.log('no assertion ran');
    return 1;
  }
  return failed ? 1 : 0;
}

main().then((code) => process.exit(code), (e) => { console.error(e); process.exit(2); });
