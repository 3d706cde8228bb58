'use strict';
// Refusals of the signed front door as each Node SDK surfaces them: a wrong secret and an unknown key, in the
// vendor's codes (Alibaba: SignatureDoesNotMatch 400, InvalidAccessKeyId.NotFound 404; Tencent:
// AuthFailure.SignatureFailure, AuthFailure.SecretIdNotFound), and a refused call changes nothing and sends
// nothing. The raw-request refusals (clock, replay, tampering) are tests/sdk/test_refusals.py's.

const { before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const stack = require('./stack');

before(stack.frontDoorAnswers);

const ALIBABA_REFUSALS = [
  ['wrong secret', stack.WRONG_SECRET, 'SignatureDoesNotMatch', 400],
  ['unknown key', stack.UNKNOWN_KEY, 'InvalidAccessKeyId.NotFound', 404],
  ["another key's secret", [stack.ALICE[0], stack.BOB[1]], 'SignatureDoesNotMatch', 400],
];
const TENCENT_REFUSALS = [
  ['wrong secret', stack.WRONG_SECRET, 'AuthFailure.SignatureFailure'],
  ['unknown key', stack.UNKNOWN_KEY, 'AuthFailure.SecretIdNotFound'],
  ["another key's secret", [stack.ALICE[0], stack.BOB[1]], 'AuthFailure.SignatureFailure'],
];

for (const [style, make] of Object.entries(stack.ALIBABA_STYLES)) {
  describe(style, () => {
    for (const [name, key, code, status] of ALIBABA_REFUSALS) {
      test(`${name}: ${code}`, async () => {
        const email = stack.uniqueEmail('node-refused');
        const error = await stack.alibabaRefusal(make(key).call('SubmitEmailVerification', { Email: email }));
        assert.equal(error.code, code);
        assert.ok(error.data.Message);
        if (error.data.statusCode !== undefined) assert.equal(error.data.statusCode, status);
        // Nothing was recorded or sent.
        const hidden = await stack.alibabaRefusal(make(stack.ALICE).call('QueryEmailVerification', { Email: email }));
        assert.equal(hidden.code, 'EmailVerificationNotExist');
        assert.deepEqual(await stack.mailsTo(email), []);
      });
    }
  });
}

for (const [style, make] of Object.entries(stack.TENCENT_STYLES)) {
  describe(style, () => {
    for (const [name, key, code] of TENCENT_REFUSALS) {
      test(`${name}: ${code}`, async () => {
        const email = stack.uniqueEmail('node-refused');
        const error = await stack.tencentRefusal(make(key).call('SendIntlPhoneEmailCode', { Type: 2, Code: email }));
        assert.equal(error.code, code);
        await stack.sleep(300);
        assert.deepEqual(await stack.mailsTo(email), []);
        // A read is refused the same way.
        const read = await stack.tencentRefusal(make(key).call('DescribeIntlPhoneEmailList', { Type: 0 }));
        assert.equal(read.code, code);
      });
    }
  });
}

test('pop-core: the refusal arrives with the HTTP status it came with', async () => {
  // pop-core ignores the status and reads the body's Code; its error still carries the answer.
  const error = await stack.alibabaRefusal(
    stack.popCore(stack.WRONG_SECRET).request('QueryEmailVerification', { Email: stack.uniqueEmail() }));
  assert.equal(error.code, 'SignatureDoesNotMatch');
  assert.equal(error.entry.response.statusCode, 400);
});
