'use strict';
// Each key pair is one caller (local-alice = alice, local-bob = bob), with every Node SDK: alice's records and
// codes are invisible to bob. The Python twin: tests/sdk/test_isolation.py.

const { before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const stack = require('./stack');

before(stack.frontDoorAnswers);

const outcomes = (items) => items.map((i) => [i.Email, i.Code]);

for (const [style, make] of Object.entries(stack.ALIBABA_STYLES)) {
  describe(style, () => {
    test('link records are per caller', async () => {
      const alice = make(stack.ALICE);
      const bob = make(stack.BOB);
      const email = stack.uniqueEmail('node-iso');
      await alice.call('SubmitEmailVerification', { Email: email });

      const hidden = await stack.alibabaRefusal(bob.call('QueryEmailVerification', { Email: email }));
      assert.equal(hidden.code, 'EmailVerificationNotExist');
      const listed = await bob.call('ListEmailVerification', { Email: email });
      assert.deepEqual([listed.TotalItemNum, listed.Data], [0, []]);
      const deleted = await bob.call('DeleteEmailVerification', { Email: email });
      assert.deepEqual(deleted.SuccessList, []);
      assert.deepEqual(outcomes(deleted.FailList), [[email, 'EmailVerificationNotExist']]);

      // alice's record is untouched; bob may have one of his own for the same address.
      assert.equal((await alice.call('QueryEmailVerification', { Email: email })).UserId, 'alice');
      const own = await bob.call('SubmitEmailVerification', { Email: email });
      assert.deepEqual(outcomes(own.SuccessList), [[email, 'Success']]);
      assert.equal((await bob.call('QueryEmailVerification', { Email: email })).UserId, 'bob');
      await stack.waitForMail(email, 2);

      await alice.call('DeleteEmailVerification', { Email: email });
      await bob.call('DeleteEmailVerification', { Email: email });
    });
  });
}

for (const [style, make] of Object.entries(stack.TENCENT_STYLES)) {
  describe(style, () => {
    test('codes and verified entries are per caller', async () => {
      const alice = make(stack.ALICE);
      const bob = make(stack.BOB);
      const email = stack.uniqueEmail('node-iso-code');
      await alice.call('SendIntlPhoneEmailCode', { Type: 2, Code: email });
      const code = await stack.codeByMail(email);

      // alice's code is not bob's to use.
      const wrongCaller = await stack.tencentRefusal(
        bob.call('CreateIntlPhoneEmail', { Type: 2, Code: email, VerifyCode: code }));
      assert.equal(wrongCaller.code, 'InternalError.CheckVerifyCodeErr');

      await alice.call('CreateIntlPhoneEmail', { Type: 2, Code: email, VerifyCode: code });
      const listOf = async (client) => {
        const page = await client.call('DescribeIntlPhoneEmailList', { Type: 2, Limit: 200 });
        return page.PhoneEmailList.filter((e) => e.Code === email).length;
      };
      assert.equal(await listOf(alice), 1);
      assert.equal(await listOf(bob), 0);

      const notBobs = await stack.tencentRefusal(bob.call('DeleteIntlPhoneEmail', { Type: 2, Code: email }));
      assert.equal(notBobs.code, 'ResourceNotFound.PhoneEmailNotExist');
      assert.equal(await listOf(alice), 1);

      await alice.call('DeleteIntlPhoneEmail', { Type: 2, Code: email });
      assert.equal(await listOf(alice), 0);
    });
  });
}
