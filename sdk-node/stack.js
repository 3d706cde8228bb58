'use strict';
// What the Node SDK tests share: where the local stack is, the mails and text messages it sent, and the
// vendors' own Node.js SDK clients, configured with nothing but the endpoint, http and a key pair.
// The Python twin of this file is tests/sdk/stack.py; the conventions are the same.

const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');

function env(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run these tests with \`make test\`, or \`source local/env.sh\` first`);
  }
  return value;
}

const ROOT = path.resolve(__dirname, '..');
const BIND_HOST = env('BIND_HOST');
const LAMBDA_PORT = env('LAMBDA_PORT');
const SES_URL = env('SES_URL').replace(/\/+$/, '');
const SMS_OUTBOX = env('SMS_OUTBOX');
// What the SDKs are given: host and port (Tencent's), or a URL (Alibaba's pop-core).
const ENDPOINT = `${BIND_HOST}:${LAMBDA_PORT}`;
const FRONT_DOOR = `http://${ENDPOINT}`;
// The first request to a function may wait for `cargo lambda watch` to start it.
const TIMEOUT_S = 180;

const ALICE = ['local-alice', 'local-alice-secret'];
const BOB = ['local-bob', 'local-bob-secret'];
const WRONG_SECRET = ['local-alice', 'not-the-secret'];
const UNKNOWN_KEY = ['local-nobody', 'local-nobody-secret'];

const ALIBABA_VERSION = '2018-01-29';
const TENCENT_VERSION = '2018-08-08';

const REQUEST_ID = /^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/;

// The SDKs live in .tools/sdk-node (local/install.sh: `npm ci` of this folder's package-lock.json), not here:
// this folder holds only what git tracks.
const sdkRequire = createRequire(path.join(process.env.NODE_SDK_DIR || path.join(ROOT, '.tools', 'sdk-node'), 'package.json'));

// -----------------------------------------------------------------------------------------------------------
// Unique addresses and numbers, so that the tests can run again and again against one stack.

function uniqueEmail(tag = 'node') {
  return `${tag}-${crypto.randomBytes(8).toString('hex')}@example.com`;
}

/** A UK mobile number in E.164: +44790 and seven digits (every +44790… is a valid mobile). */
function uniquePhone() {
  return `+44790${String(crypto.randomInt(0, 10 ** 7)).padStart(7, '0')}`;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// -----------------------------------------------------------------------------------------------------------
// The front door is up: an unsigned POST / is refused with 400 (the first request may wait for a build).

async function frontDoorAnswers() {
  const deadline = Date.now() + TIMEOUT_S * 1000;
  let last;
  while (Date.now() < deadline) {
    try {
      const answer = await fetch(`${FRONT_DOOR}/`, { method: 'POST' });
      await answer.arrayBuffer();
      if (answer.status === 400) return;
      last = `HTTP ${answer.status}`;
    } catch (e) {
      last = e;
    }
    await sleep(1000);
  }
  throw new Error(`the front door at ${FRONT_DOOR}/ did not answer an unsigned POST with 400: ${last}`);
}

// -----------------------------------------------------------------------------------------------------------
// Alibaba Cloud's SDKs.

/** @alicloud/pop-core's RPCClient: RPC HMAC-SHA1, GET by default; `request(…, {method: 'POST'})` for a form. */
function popCore(key = ALICE) {
  const RPCClient = sdkRequire('@alicloud/pop-core').RPCClient;
  return new RPCClient({
    accessKeyId: key[0],
    accessKeySecret: key[1],
    endpoint: FRONT_DOOR,
    apiVersion: ALIBABA_VERSION,
    opts: { timeout: TIMEOUT_S * 1000 },
  });
}

/** @alicloud/openapi-client with @alicloud/tea-util: `callApi` in the RPC style, signed ACS3-HMAC-SHA256. */
function openApi(key = ALICE) {
  const OpenApi = sdkRequire('@alicloud/openapi-client');
  const Util = sdkRequire('@alicloud/tea-util');
  const client = new OpenApi.default(new OpenApi.Config({
    accessKeyId: key[0],
    accessKeySecret: key[1],
    endpoint: ENDPOINT,
    protocol: 'http',
  }));
  const runtime = new Util.RuntimeOptions({ readTimeout: TIMEOUT_S * 1000, connectTimeout: 10_000 });
  /** One action with its parameters in the query, as the generated clients send them; the answer's body. */
  client.call = async (action, query = {}) => {
    const params = new OpenApi.Params({
      action,
      version: ALIBABA_VERSION,
      protocol: 'HTTP',
      pathname: '/',
      method: 'POST',
      authType: 'AK',
      style: 'RPC',
      reqBodyType: 'formData',
      bodyType: 'json',
    });
    const strings = Object.fromEntries(Object.entries(query).map(([k, v]) => [k, String(v)]));
    const request = new OpenApi.OpenApiRequest({ query: sdkRequire('@alicloud/openapi-util').default.query(strings) });
    const answer = await client.callApi(params, request, runtime);
    assert.equal(answer.statusCode, 200);
    return answer.body;
  };
  return client;
}

/** One client per Alibaba style, each answering `call(action, params)` with the parsed JSON answer. */
const ALIBABA_STYLES = {
  'pop-core GET': (key) => {
    const c = popCore(key);
    return { call: (action, params) => c.request(action, params) };
  },
  'pop-core POST': (key) => {
    const c = popCore(key);
    return { call: (action, params) => c.request(action, params, { method: 'POST' }) };
  },
  'openapi-client ACS3': (key) => openApi(key),
};

/** The error code that an Alibaba SDK surfaced (pop-core: err.code; openapi-client: err.code, err.data). */
async function alibabaRefusal(promise) {
  try {
    const body = await promise;
    assert.fail(`expected an error, got ${JSON.stringify(body)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e.code, `an error without a code: ${e.stack}`);
    assert.match(e.data.RequestId, REQUEST_ID, JSON.stringify(e.data));
    return e;
  }
}

// -----------------------------------------------------------------------------------------------------------
// Tencent Cloud's SDKs, paced: never the same parameters with the same key twice within one second.
//
// TC3 signs the body, the host, the content type and the time in whole seconds, not the action. Two calls with
// the same parameters in the same second (Send and then Delete of one address, or two Describes) carry the same
// signature, and the front door accepts a signature once (the contract's replay rule), so the second would be
// refused with AuthFailure.SignatureFailure. tests/sdk/stack.py's PacedDomainClient does the same for Python.

const signedAt = new Map();

async function pace(key, params) {
  const id = JSON.stringify([key[0], key[1], sortedJson(params)]);
  const last = signedAt.get(id);
  while (last !== undefined && Math.floor(Date.now() / 1000) <= last) {
    await sleep(Math.max(10, (last + 1) * 1000 - Date.now()));
  }
  signedAt.set(id, Math.floor(Date.now() / 1000));
}

function sortedJson(value) {
  if (Array.isArray(value)) return value.map(sortedJson);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortedJson(value[k])]));
  }
  return value;
}

/** tencentcloud-sdk-nodejs-common's CommonClient (TC3-HMAC-SHA256): `call(action, params)` → Response. */
function commonClient(key = ALICE, { paced = true } = {}) {
  const { CommonClient } = sdkRequire('tencentcloud-sdk-nodejs-common');
  const client = new CommonClient(ENDPOINT, TENCENT_VERSION, {
    credential: { secretId: key[0], secretKey: key[1] },
    profile: { httpProfile: { endpoint: ENDPOINT, protocol: 'http://', reqTimeout: TIMEOUT_S } },
  });
  return {
    sdk: client,
    call: async (action, params) => {
      if (paced) await pace(key, params);
      return client.request(action, params);
    },
  };
}

/**
 * tencentcloud-sdk-nodejs-intl-en's domain client (v20180808). `signMethod` undefined is the SDK's default
 * profile (HmacSHA256, the older scheme); 'HmacSHA1' the other older one; 'TC3-HMAC-SHA256' TC3.
 * `call(action, params)` fills the SDK's own request model and calls its method of that name.
 */
function intlClient(key = ALICE, { signMethod, reqMethod, paced = true } = {}) {
  const tencentcloud = sdkRequire('tencentcloud-sdk-nodejs-intl-en');
  const { Client, Models } = tencentcloud.domain.v20180808;
  const { Credential, ClientProfile, HttpProfile } = tencentcloud.common;
  const httpProfile = new HttpProfile();
  httpProfile.endpoint = ENDPOINT;
  httpProfile.protocol = 'http://';
  httpProfile.reqTimeout = TIMEOUT_S;
  if (reqMethod) httpProfile.reqMethod = reqMethod;
  const profile = new ClientProfile();
  if (signMethod) profile.signMethod = signMethod;
  profile.httpProfile = httpProfile;
  const client = new Client(new Credential(key[0], key[1]), '', profile);
  return {
    sdk: client,
    models: Models,
    call: async (action, params) => {
      const request = new Models[`${action}Request`]();
      // The SDK's own models: a field that a model lacks (Describe's Code) is not sent.
      request.deserialize(params);
      if (paced) await pace(key, params);
      return new Promise((resolve, reject) => {
        client[action](request, (err, response) => (err ? reject(err) : resolve(response)));
      });
    },
  };
}

/** One client per Tencent style, each answering `call(action, params)` with the Response. */
const TENCENT_STYLES = {
  'common TC3': (key, opts) => commonClient(key, opts),
  'intl-en default (HmacSHA256)': (key, opts) => intlClient(key, opts),
  'intl-en HmacSHA256 GET': (key, opts) => intlClient(key, { ...opts, reqMethod: 'GET' }),
  'intl-en HmacSHA1': (key, opts) => intlClient(key, { ...opts, signMethod: 'HmacSHA1' }),
  'intl-en TC3': (key, opts) => intlClient(key, { ...opts, signMethod: 'TC3-HMAC-SHA256' }),
};

/** The error that a Tencent SDK raised (TencentCloudSDKHttpException: code, requestId). */
async function tencentRefusal(promise) {
  try {
    const response = await promise;
    assert.fail(`expected an error, got ${JSON.stringify(response)}`);
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.ok(e.code, `an error without a code (${e.httpCode ? `HTTP ${e.httpCode}` : 'no HTTP status'}): ${e.stack}`);
    assert.match(e.requestId, REQUEST_ID, String(e));
    return e;
  }
}

// -----------------------------------------------------------------------------------------------------------
// The SES emulator's mails and the SMS outbox.

async function mailsTo(address) {
  const store = await (await fetch(`${SES_URL}/store`)).json();
  const want = address.toLowerCase();
  return (store.emails || []).filter((m) => m.destination.to.some((to) => to.toLowerCase().includes(want)));
}

/** The latest mail to address, once at least `count` mails have arrived there. */
async function waitForMail(address, count = 1, timeoutS = 20) {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const mails = await mailsTo(address);
    if (mails.length >= count) return mails[mails.length - 1];
    if (Date.now() > deadline) {
      assert.fail(`${mails.length} mail(s) to ${address} in the SES emulator, expected ${count}`);
    }
    await sleep(200);
  }
}

function textsTo(phone) {
  let lines;
  try {
    lines = fs.readFileSync(SMS_OUTBOX, 'utf8').split('\n').filter((l) => l.trim());
  } catch (e) {
    if (e.code === 'ENOENT') return [];
    throw e;
  }
  return lines.map((l) => JSON.parse(l)).filter((t) => t.to === phone);
}

async function waitForText(phone, count = 1, timeoutS = 20) {
  const deadline = Date.now() + timeoutS * 1000;
  for (;;) {
    const texts = textsTo(phone);
    if (texts.length >= count) return texts[texts.length - 1];
    if (Date.now() > deadline) assert.fail(`${texts.length} text(s) to ${phone} in ${SMS_OUTBOX}, expected ${count}`);
    await sleep(200);
  }
}

function linkToken(mail) {
  const found = [...mail.body.text.matchAll(/\/verify-email\?Token=([0-9A-Za-z]+)/g)].map((m) => m[1]);
  assert.ok(found.length, `no link in the mail: ${JSON.stringify(mail.body.text)}`);
  return found[found.length - 1];
}

function linkUrl(mail) {
  const found = mail.body.text.match(/https?:\/\/\S+\/verify-email\?Token=[0-9A-Za-z]+/g);
  assert.ok(found, `no link in the mail: ${JSON.stringify(mail.body.text)}`);
  return found[found.length - 1];
}

/** The one standalone six-digit word of a text (a phone number's longer run of digits does not count). */
function sixDigitCode(text) {
  const codes = text.match(/(?<![0-9+])[0-9]{6}(?![0-9])/g) || [];
  assert.equal(codes.length, 1, `expected exactly one six-digit code in ${JSON.stringify(text)}, found ${codes}`);
  return codes[0];
}

async function codeByMail(address, count = 1) {
  return sixDigitCode((await waitForMail(address, count)).body.text);
}

async function codeByText(phone, count = 1) {
  return sixDigitCode((await waitForText(phone, count)).body);
}

function wrongCode(code) {
  return String((Number(code) + 1) % 10 ** 6).padStart(6, '0');
}

module.exports = {
  ALIBABA_STYLES,
  ALIBABA_VERSION,
  ALICE,
  BOB,
  BIND_HOST,
  ENDPOINT,
  FRONT_DOOR,
  LAMBDA_PORT,
  REQUEST_ID,
  SES_URL,
  SMS_OUTBOX,
  TENCENT_STYLES,
  TENCENT_VERSION,
  TIMEOUT_S,
  UNKNOWN_KEY,
  WRONG_SECRET,
  alibabaRefusal,
  codeByMail,
  codeByText,
  commonClient,
  frontDoorAnswers,
  intlClient,
  linkToken,
  linkUrl,
  mailsTo,
  openApi,
  pace,
  popCore,
  sdkRequire,
  sixDigitCode,
  sleep,
  tencentRefusal,
  textsTo,
  uniqueEmail,
  uniquePhone,
  waitForMail,
  waitForText,
  wrongCode,
};
