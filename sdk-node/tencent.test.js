'use strict';
// Tencent Cloud's own Node.js SDKs, unchanged, against the front door: tencentcloud-sdk-nodejs-common's
// CommonClient (TC3-HMAC-SHA256, which signs `host` without the port it sends) and
// tencentcloud-sdk-nodejs-intl-en's domain client (v20180808) with its default profile (the older HmacSHA256
// "Signature" scheme, a form body), as GET, with HmacSHA1, and with signMethod TC3-HMAC-SHA256. The code flow by
// mail and by SMS, wrong codes, and errors as the SDK's exceptions. The Python twin: tests/sdk/test_tencent_sdk.py.

const { before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const stack = require('./stack');

before(stack.frontDoorAnswers);

const MAIL = 2;
const SMS = 1;

/** [Type, Code, a function that reads the n-th code sent there]. */
function targetOf(kind) {
  if (kind === 'mail') {
    const email = stack.uniqueEmail('node-code');
    return [MAIL, email, (n = 1) => stack.codeByMail(email, n)];
  }
  const phone = stack.uniquePhone();
  return [SMS, phone, (n = 1) => stack.codeByText(phone, n)];
}

/** Every entry of the caller's list of that type, paged through with Offset and Limit. */
async function describeAll(client, type) {
  const entries = [];
  for (let offset = 0; ; offset += 200) {
    const page = await client.call('DescribeIntlPhoneEmailList', { Type: type, Offset: offset, Limit: 200 });
    assert.match(page.RequestId, stack.REQUEST_ID);
    entries.push(...(page.PhoneEmailList || []));
    if (offset + 200 >= page.TotalCount) return [page.TotalCount, entries];
  }
}

/** The entries of one Code, as the caller's list shows them. */
async function entriesOf(client, type, code) {
  const [, entries] = await describeAll(client, type);
  return entries.filter((e) => e.Code === code).map((e) => [e.Code, e.Type]);
}

for (const [style, make] of Object.entries(stack.TENCENT_STYLES)) {
  describe(style, () => {
    for (const kind of ['mail', 'sms']) {
      test(`code flow by ${kind}: Send → code → Create → Describe → Delete`, async () => {
        const client = make(stack.ALICE);
        const [type, code, sentCode] = targetOf(kind);

        const sent = await client.call('SendIntlPhoneEmailCode', { Type: type, Code: code });
        assert.match(sent.RequestId, stack.REQUEST_ID);
        const verifyCode = await sentCode();

        const created = await client.call('CreateIntlPhoneEmail', { Type: type, Code: code, VerifyCode: verifyCode });
        assert.match(created.RequestId, stack.REQUEST_ID);

        const [total, entries] = await describeAll(client, type);
        assert.equal(total, entries.length);
        const mine = entries.filter((e) => e.Code === code);
        assert.deepEqual(mine.map((e) => [e.Code, e.Type]), [[code, type]]);
        assert.ok(mine[0].CreatedOn);
        const [, everything] = await describeAll(client, 0);
        assert.ok(everything.some((e) => e.Code === code));

        const deleted = await client.call('DeleteIntlPhoneEmail', { Type: type, Code: code });
        assert.match(deleted.RequestId, stack.REQUEST_ID);
        assert.deepEqual(await entriesOf(client, type, code), []);
      });

      test(`a wrong code by ${kind} is refused, and does not spend the right one`, async () => {
        const client = make(stack.ALICE);
        const [type, code, sentCode] = targetOf(kind);
        await client.call('SendIntlPhoneEmailCode', { Type: type, Code: code });
        const right = await sentCode();
        const error = await stack.tencentRefusal(
          client.call('CreateIntlPhoneEmail', { Type: type, Code: code, VerifyCode: stack.wrongCode(right) }));
        assert.equal(error.code, 'InternalError.VerifyCodeErr');
        assert.deepEqual(await entriesOf(client, type, code), []);
        await client.call('CreateIntlPhoneEmail', { Type: type, Code: code, VerifyCode: right });
        assert.deepEqual(await entriesOf(client, type, code), [[code, type]]);
        await client.call('DeleteIntlPhoneEmail', { Type: type, Code: code });
      });
    }

    test('errors reach the SDK as its exceptions', async () => {
      const client = make(stack.ALICE);
      const malformed = await stack.tencentRefusal(
        client.call('SendIntlPhoneEmailCode', { Type: MAIL, Code: 'not-an-address' }));
      assert.equal(malformed.code, 'InvalidParameterValue.InvalidParameterFormat');
      const unknown = await stack.tencentRefusal(
        client.call('DeleteIntlPhoneEmail', { Type: MAIL, Code: stack.uniqueEmail() }));
      assert.equal(unknown.code, 'ResourceNotFound.PhoneEmailNotExist');
    });
  });
}

test('CommonClient: Describe narrowed to one Code (a parameter that intl-en\'s request model lacks)', async () => {
  const client = stack.commonClient(stack.ALICE);
  const [type, code, sentCode] = targetOf('mail');
  await client.call('SendIntlPhoneEmailCode', { Type: type, Code: code });
  await client.call('CreateIntlPhoneEmail', { Type: type, Code: code, VerifyCode: await sentCode() });
  const narrowed = await client.call('DescribeIntlPhoneEmailList', { Type: type, Code: code });
  assert.equal(narrowed.TotalCount, 1);
  assert.deepEqual(narrowed.PhoneEmailList.map((e) => [e.Code, e.Type]), [[code, type]]);
  await client.call('DeleteIntlPhoneEmail', { Type: type, Code: code });
  assert.equal((await client.call('DescribeIntlPhoneEmailList', { Type: type, Code: code })).TotalCount, 0);
});

/** Waits until the start of the next whole second (TC3's time has no finer grain). */
async function startOfASecond() {
  await stack.sleep(1020 - (Date.now() % 1000));
}

test('TC3, unpaced: the same read twice within one second is answered twice (reads record no replay entry)', async () => {
  const client = stack.commonClient(stack.ALICE, { paced: false });
  const params = { Type: 2, Code: stack.uniqueEmail('node-read-twice') };
  let sameSecond = false;
  for (let attempt = 0; attempt < 3 && !sameSecond; attempt++) {
    await startOfASecond();
    const second = Math.floor(Date.now() / 1000);
    const answers = [
      await client.call('DescribeIntlPhoneEmailList', params),
      await client.call('DescribeIntlPhoneEmailList', params),
    ];
    assert.deepEqual(answers.map((a) => a.TotalCount), [0, 0]);
    assert.notEqual(answers[0].RequestId, answers[1].RequestId);
    // Both signed within the one second, or the check proved nothing: then again (a slow first call).
    sameSecond = Math.floor(Date.now() / 1000) === second;
  }
  assert.ok(sameSecond, 'three tries, and never two calls within one second');
});

test('TC3, unpaced: a write that repeats a signature within its second is refused as a replay', async () => {
  // TC3 signs neither the action nor anything unique to the call, so Send and then Delete of one address in one
  // second carry the same signature; the front door accepts a write's signature once (tests/sdk's twin:
  // test_same_parameters_within_one_second_are_refused_as_a_replay). Tencent Cloud itself accepts both.
  const client = stack.commonClient(stack.ALICE, { paced: false });
  let error;
  for (let attempt = 0; attempt < 3; attempt++) {
    const email = stack.uniqueEmail('node-same-second');
    await startOfASecond();
    await client.call('SendIntlPhoneEmailCode', { Type: MAIL, Code: email });
    error = await stack.tencentRefusal(client.call('DeleteIntlPhoneEmail', { Type: MAIL, Code: email }));
    await stack.waitForMail(email);
    if (error.code !== 'ResourceNotFound.PhoneEmailNotExist') break; // not the next second's fresh signature
  }
  assert.equal(error.code, 'AuthFailure.SignatureFailure');
});
