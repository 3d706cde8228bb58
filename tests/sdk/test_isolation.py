"""Each key pair is one caller: alice's records are invisible to bob, and the front door's caller is the same
caller id that the per-action routes take from X-User-Id."""

import pytest
from alibabacloud_domain20180129 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.domain.v20180808 import models as tm

import stack


@pytest.mark.parametrize("mode", ["acs3", "rpc"])
def test_link_records_are_per_caller(mode):
    alice, bob = stack.alibaba(stack.ALICE, mode), stack.alibaba(stack.BOB, mode)
    email = stack.unique_email(f"iso-{mode}")
    alice.submit_email_verification(m.SubmitEmailVerificationRequest(email=email))

    with pytest.raises(ClientException) as error:
        bob.query_email_verification(m.QueryEmailVerificationRequest(email=email))
    assert error.value.code == "EmailVerificationNotExist"
    listed = bob.list_email_verification(m.ListEmailVerificationRequest(email=email)).body
    assert listed.total_item_num == 0 and listed.data == []
    resent = bob.resend_email_verification(m.ResendEmailVerificationRequest(email=email)).body
    assert [(i.email, i.code) for i in resent.fail_list] == [(email, "EmailVerificationNotExist")]
    deleted = bob.delete_email_verification(m.DeleteEmailVerificationRequest(email=email)).body
    assert deleted.success_list == []
    assert [(i.email, i.code) for i in deleted.fail_list] == [(email, "EmailVerificationNotExist")]

    # alice's record is untouched; bob may have a record of his own for the same address.
    assert alice.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body.user_id == "alice"
    own = bob.submit_email_verification(m.SubmitEmailVerificationRequest(email=email)).body
    assert [(i.email, i.code) for i in own.success_list] == [(email, "Success")]
    assert bob.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body.user_id == "bob"
    assert len(stack.mails_to(email)) == 2

    alice.delete_email_verification(m.DeleteEmailVerificationRequest(email=email))
    bob.delete_email_verification(m.DeleteEmailVerificationRequest(email=email))


def test_front_door_caller_is_the_route_caller():
    email = stack.unique_email("iso-route")
    alice = stack.alibaba(stack.ALICE)
    alice.submit_email_verification(m.SubmitEmailVerificationRequest(email=email))
    through_door = alice.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body

    answer = stack.http("POST", "/lambda-url/query-email-verification/",
                        {"X-User-Id": "alice", "Content-Type": "application/json"},
                        f'{{"Email": "{email}"}}'.encode())
    record = stack.assert_alibaba_ok(answer)
    assert (record["Email"], record["UserId"]) == (email, "alice")
    assert record["EmailVerificationNo"] == through_door.email_verification_no
    stack.assert_alibaba_error(stack.record_of(email, "bob"), "EmailVerificationNotExist", 404)

    # And the other way round: made on the route as bob, seen at the front door with bob's key only.
    other = stack.unique_email("iso-route")
    stack.assert_alibaba_ok(stack.route("submit-email-verification", {"Email": other}, "bob"))
    seen = stack.tencent(stack.BOB).call_json("QueryEmailVerification", {"Email": other})
    assert (seen["Email"], seen["UserId"]) == (other, "bob")
    with pytest.raises(ClientException) as error:
        alice.query_email_verification(m.QueryEmailVerificationRequest(email=other))
    assert error.value.code == "EmailVerificationNotExist"

    alice.delete_email_verification(m.DeleteEmailVerificationRequest(email=email))
    stack.route("delete-email-verification", {"Email": other}, "bob")


def test_codes_are_per_caller():
    alice, bob = stack.tencent(stack.ALICE), stack.tencent(stack.BOB)
    email = stack.unique_email("iso-code")

    send = tm.SendIntlPhoneEmailCodeRequest()
    send.Type, send.Code = 2, email
    alice.SendIntlPhoneEmailCode(send)
    code = stack.code_by_mail(email)

    # alice's code is not bob's to use.
    wrong_caller = tm.CreateIntlPhoneEmailRequest()
    wrong_caller.Type, wrong_caller.Code, wrong_caller.VerifyCode = 2, email, code
    with pytest.raises(TencentCloudSDKException) as error:
        bob.CreateIntlPhoneEmail(wrong_caller)
    assert error.value.code == "InternalError.CheckVerifyCodeErr"

    alice.CreateIntlPhoneEmail(wrong_caller)  # the same request, alice's key
    narrowed = {"Type": 2, "Code": email}
    assert alice.call_json("DescribeIntlPhoneEmailList", narrowed)["Response"]["TotalCount"] == 1
    assert bob.call_json("DescribeIntlPhoneEmailList", narrowed)["Response"]["TotalCount"] == 0

    delete = tm.DeleteIntlPhoneEmailRequest()
    delete.Type, delete.Code = 2, email
    with pytest.raises(TencentCloudSDKException) as error:
        bob.DeleteIntlPhoneEmail(delete)
    assert error.value.code == "ResourceNotFound.PhoneEmailNotExist"
    assert alice.call_json("DescribeIntlPhoneEmailList", narrowed)["Response"]["TotalCount"] == 1

    # The per-action routes see the same callers.
    on_route = stack.route("describe-intl-phone-email-list", narrowed, "alice")
    assert stack.assert_tencent_ok(on_route)["TotalCount"] == 1
    assert stack.assert_tencent_ok(stack.route("describe-intl-phone-email-list", narrowed, "bob"))["TotalCount"] == 0

    alice.DeleteIntlPhoneEmail(delete)
    assert alice.call_json("DescribeIntlPhoneEmailList", narrowed)["Response"]["TotalCount"] == 0
