'use strict';
// Alibaba Cloud's own Node.js SDKs, unchanged, against the front door: @alicloud/pop-core (RPC HMAC-SHA1, GET
// and POST) and @alicloud/openapi-client (ACS3-HMAC-SHA256, callApi in the RPC style). The link flow, the
// ExistList, and errors as each SDK surfaces them. The Python twin: tests/sdk/test_alibaba_sdk.py.

const { before, describe, test } = require('node:test');
const assert = require('node:assert/strict');
const stack = require('./stack');

before(stack.frontDoorAnswers);

const outcomes = (items) => items.map((i) => [i.Email, i.Code]);

for (const [style, make] of Object.entries(stack.ALIBABA_STYLES)) {
  describe(style, () => {
    test('link flow: Submit → mail → VerifyEmail → Query → List → Delete', async () => {
      const client = make(stack.ALICE);
      const email = stack.uniqueEmail('node-link');

      const submitted = await client.call('SubmitEmailVerification', { Email: email });
      assert.match(submitted.RequestId, stack.REQUEST_ID);
      assert.deepEqual(outcomes(submitted.SuccessList), [[email, 'Success']]);
      assert.deepEqual([submitted.FailList, submitted.ExistList], [[], []]);

      const mail = await stack.waitForMail(email);
      const link = stack.linkUrl(mail);
      assert.ok(link.startsWith(`${stack.FRONT_DOOR}/`), link);
      const token = stack.linkToken(mail);

      const pending = await client.call('QueryEmailVerification', { Email: email });
      assert.deepEqual([pending.Email, pending.UserId, pending.VerificationStatus], [email, 'alice', 0]);
      assert.deepEqual([pending.VerificationTime, pending.ConfirmIp], ['', '']);

      const verified = await client.call('VerifyEmail', { Token: token });
      assert.match(verified.RequestId, stack.REQUEST_ID);

      const record = await client.call('QueryEmailVerification', { Email: email });
      assert.deepEqual([record.Email, record.UserId, record.VerificationStatus], [email, 'alice', 1]);
      assert.notEqual(record.VerificationTime, '');
      assert.notEqual(record.ConfirmIp, '');
      assert.equal(record.EmailVerificationNo.length, 32);

      // The link in the mail stays usable: following it again is a success that changes nothing.
      const page = await fetch(link);
      assert.equal(page.status, 200);
      assert.ok((await page.text()).includes('data-code="Success"'));
      const again = await client.call('QueryEmailVerification', { Email: email });
      assert.deepEqual([again.VerificationTime, again.ConfirmIp], [record.VerificationTime, record.ConfirmIp]);

      const listed = await client.call('ListEmailVerification', { Email: email, PageNum: 1, PageSize: 5 });
      assert.deepEqual([listed.CurrentPageNum, listed.PageSize, listed.TotalItemNum, listed.TotalPageNum], [1, 5, 1, 1]);
      assert.deepEqual(listed.Data.map((d) => [d.Email, d.UserId, d.VerificationStatus]), [[email, 'alice', 1]]);
      assert.equal(listed.Data[0].EmailVerificationNo, record.EmailVerificationNo);

      const resent = await client.call('ResendEmailVerification', { Email: email });
      assert.deepEqual(resent.SuccessList, []);
      assert.deepEqual(outcomes(resent.FailList), [[email, 'EmailVerified']]);
      assert.equal((await stack.mailsTo(email)).length, 1);

      const deleted = await client.call('DeleteEmailVerification', { Email: email });
      assert.deepEqual(outcomes(deleted.SuccessList), [[email, 'Success']]);
      assert.deepEqual(deleted.FailList, []);

      const gone = await stack.alibabaRefusal(client.call('QueryEmailVerification', { Email: email }));
      assert.equal(gone.code, 'EmailVerificationNotExist');
    });

    test('the link followed in a browser verifies it too', async () => {
      const client = make(stack.ALICE);
      const email = stack.uniqueEmail('node-click');
      await client.call('SubmitEmailVerification', { Email: email, Lang: 'zh' });
      const page = await fetch(stack.linkUrl(await stack.waitForMail(email)));
      assert.equal(page.status, 200);
      assert.ok((await page.text()).includes('data-code="Success"'));
      const record = await client.call('QueryEmailVerification', { Email: email });
      assert.equal(record.VerificationStatus, 1);
      await client.call('DeleteEmailVerification', { Email: email });
    });

    test('DescribeVerificationEvidence: the send and the click, kept after a delete, gone with PurgeEvidence', async () => {
      const client = make(stack.ALICE);
      const email = stack.uniqueEmail('node-evidence');
      await client.call('SubmitEmailVerification', { Email: email });
      const page = await fetch(stack.linkUrl(await stack.waitForMail(email)), {
        headers: { 'User-Agent': 'node-evidence-browser/1.0' },
      });
      assert.equal(page.status, 200);
      const log = await client.call('DescribeVerificationEvidence', { Email: email });
      assert.match(log.RequestId, stack.REQUEST_ID);
      assert.deepEqual(log.Evidence.map((e) => [e.Kind, e.Outcome, e.Channel, e.Destination]), [
        ['Sent', 'Sent', 'email', email],
        ['LinkOpened', 'Verified', 'email', email],
      ]);
      assert.notEqual(log.Evidence[0].MessageId, '');
      assert.equal(log.Evidence[1].UserAgent, 'node-evidence-browser/1.0');
      // Bob reads none of it.
      const bobs = await make(stack.BOB).call('DescribeVerificationEvidence', { Email: email });
      assert.deepEqual([bobs.TotalCount, bobs.Evidence], [0, []]);
      // Kept after a delete; purged with PurgeEvidence.
      await client.call('DeleteEmailVerification', { Email: email });
      assert.equal((await client.call('DescribeVerificationEvidence', { Email: email })).TotalCount, 2);
      await client.call('DeleteEmailVerification', { Email: email, PurgeEvidence: true });
      assert.equal((await client.call('DescribeVerificationEvidence', { Email: email })).TotalCount, 0);
    });

    test('a second Submit without SendIfExist gives ExistList; SendIfExist=false as a boolean', async () => {
      const client = make(stack.ALICE);
      const email = stack.uniqueEmail('node-twice');
      const first = await client.call('SubmitEmailVerification', { Email: email });
      assert.deepEqual(outcomes(first.SuccessList), [[email, 'Success']]);
      for (const params of [{ Email: email }, { Email: email, SendIfExist: false }]) {
        const again = await client.call('SubmitEmailVerification', params);
        assert.deepEqual([again.SuccessList, again.FailList], [[], []]);
        assert.deepEqual(outcomes(again.ExistList), [[email, 'EmailVerificationExist']]);
      }
      await stack.waitForMail(email);
      assert.equal((await stack.mailsTo(email)).length, 1);
      await client.call('DeleteEmailVerification', { Email: email });
    });

    test('an invalid address in a batch fails alone', async () => {
      const client = make(stack.ALICE);
      const good = stack.uniqueEmail('node-batch');
      const body = await client.call('SubmitEmailVerification', { Email: `${good},not-an-address` });
      assert.deepEqual(outcomes(body.SuccessList), [[good, 'Success']]);
      assert.deepEqual(outcomes(body.FailList), [['not-an-address', 'ParameterIllegal']]);
      await client.call('DeleteEmailVerification', { Email: good });
    });

    test('errors reach the SDK as its exceptions', async () => {
      const client = make(stack.ALICE);
      const illegal = await stack.alibabaRefusal(client.call('QueryEmailVerification', { Email: 'not-an-address' }));
      assert.equal(illegal.code, 'ParameterIllegal');
      assert.ok(illegal.data.Message);
      const token = await stack.alibabaRefusal(client.call('VerifyEmail', { Token: 'ab'.repeat(32) }));
      assert.equal(token.code, 'TokenInvalid');
      const zh = await stack.alibabaRefusal(
        client.call('QueryEmailVerification', { Email: stack.uniqueEmail(), Lang: 'zh' }));
      assert.equal(zh.code, 'EmailVerificationNotExist');
      assert.match(zh.data.Message, /[\u4e00-\u9fff]/);
    });
  });
}

test('openapi-client: an HTTP error carries its status', async () => {
  const error = await stack.alibabaRefusal(
    stack.openApi(stack.ALICE).call('QueryEmailVerification', { Email: stack.uniqueEmail() }));
  assert.deepEqual([error.code, error.data.statusCode], ['EmailVerificationNotExist', 404]);
});
