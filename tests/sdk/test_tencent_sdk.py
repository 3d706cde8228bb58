"""Tencent Cloud's own SDK (tencentcloud-sdk-python-intl-en, module tencentcloud.domain.v20180808), unchanged,
against the front door: the whole code flow by mail and by SMS, and errors as the SDK's exceptions."""

import time

import pytest
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.domain.v20180808 import models

import stack

MAIL, SMS = 2, 1
KINDS = ["mail", "sms"]


def target_of(kind):
    """(Type, Code, a function that reads the n-th code sent there)."""
    if kind == "mail":
        email = stack.unique_email("code")
        return MAIL, email, lambda n=1: stack.code_by_mail(email, n)
    phone = stack.unique_phone()
    return SMS, phone, lambda n=1: stack.code_by_text(phone, n)


def send_code(client, type_, code):
    request = models.SendIntlPhoneEmailCodeRequest()
    request.Type, request.Code = type_, code
    return client.SendIntlPhoneEmailCode(request)


def create(client, type_, code, verify_code):
    request = models.CreateIntlPhoneEmailRequest()
    request.Type, request.Code, request.VerifyCode = type_, code, verify_code
    return client.CreateIntlPhoneEmail(request)


def delete(client, type_, code):
    request = models.DeleteIntlPhoneEmailRequest()
    request.Type, request.Code = type_, code
    return client.DeleteIntlPhoneEmail(request)


def describe_all(client, type_):
    """Every entry of the caller's list of that type, paged through with the SDK's own request (Offset, Limit)."""
    entries, offset, total = [], 0, None
    while True:
        request = models.DescribeIntlPhoneEmailListRequest()
        request.Type, request.Offset, request.Limit = type_, offset, 200
        page = client.DescribeIntlPhoneEmailList(request)
        assert stack.REQUEST_ID.match(page.RequestId)
        total = page.TotalCount
        entries += page.PhoneEmailList or []
        offset += 200
        if offset >= total:
            return total, entries


def describe_one(client, type_, code):
    """The list narrowed to one Code (a parameter the service accepts; the SDK's typed request lacks it)."""
    return client.call_json("DescribeIntlPhoneEmailList", {"Type": type_, "Code": code})["Response"]


@pytest.mark.parametrize("kind", KINDS)
def test_code_flow(kind):
    client = stack.tencent()
    type_, code, sent_code = target_of(kind)

    sent = send_code(client, type_, code)
    assert stack.REQUEST_ID.match(sent.RequestId)
    verify_code = sent_code()
    assert code not in (verify_code,)

    created = create(client, type_, code, verify_code)
    assert stack.REQUEST_ID.match(created.RequestId)

    total, entries = describe_all(client, type_)
    assert total == len(entries)
    mine = [e for e in entries if e.Code == code]
    assert [(e.Code, e.Type) for e in mine] == [(code, type_)]
    assert mine[0].CreatedOn
    everything_total, everything = describe_all(client, 0)
    assert code in [e.Code for e in everything] and everything_total >= total

    narrowed = describe_one(client, type_, code)
    assert narrowed["TotalCount"] == 1
    assert [(e["Code"], e["Type"]) for e in narrowed["PhoneEmailList"]] == [(code, type_)]

    deleted = delete(client, type_, code)
    assert stack.REQUEST_ID.match(deleted.RequestId)
    _, entries = describe_all(client, type_)
    assert code not in [e.Code for e in entries]
    assert describe_one(client, type_, code)["TotalCount"] == 0


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_verify_code_raises(kind):
    client = stack.tencent()
    type_, code, sent_code = target_of(kind)
    send_code(client, type_, code)
    right = sent_code()
    with pytest.raises(TencentCloudSDKException) as error:
        create(client, type_, code, stack.wrong_code(right))
    assert error.value.code == "InternalError.VerifyCodeErr"
    assert stack.REQUEST_ID.match(error.value.requestId)
    assert describe_one(client, type_, code)["TotalCount"] == 0
    # One wrong try does not spend the code.
    create(client, type_, code, right)
    assert describe_one(client, type_, code)["TotalCount"] == 1
    delete(client, type_, code)


def test_code_is_single_use():
    client = stack.tencent()
    type_, code, sent_code = target_of("mail")
    send_code(client, type_, code)
    verify_code = sent_code()
    create(client, type_, code, verify_code)
    delete(client, type_, code)
    with pytest.raises(TencentCloudSDKException) as error:
        create(client, type_, code, verify_code)
    assert error.value.code == "InternalError.CheckVerifyCodeErr"  # no code pending any more (docs/API.md)


def test_sms_text_carries_only_the_code_digits():
    client = stack.tencent()
    phone = stack.unique_phone()
    send_code(client, SMS, phone)
    text = stack.wait_for_text(phone)
    assert set(text) >= {"to", "body"}
    assert text["to"] == phone
    assert stack.six_digit_code(text["body"]).isdigit()


def test_malformed_address_is_a_parameter_error():
    with pytest.raises(TencentCloudSDKException) as error:
        send_code(stack.tencent(), MAIL, "not-an-address")
    assert error.value.code == "InvalidParameterValue.InvalidParameterFormat"
    assert stack.REQUEST_ID.match(error.value.requestId)


def test_second_send_within_a_minute_is_limited():
    client = stack.tencent()
    type_, code, _ = target_of("mail")
    send_code(client, type_, code)
    with pytest.raises(TencentCloudSDKException) as error:
        send_code(client, type_, code)
    assert error.value.code == "FailedOperation.SendVerifyCodeIsLimited"
    stack.wait_for_mail(code)
    assert len(stack.mails_to(code)) == 1


def test_delete_of_an_unknown_entry_raises():
    with pytest.raises(TencentCloudSDKException) as error:
        delete(stack.tencent(), MAIL, stack.unique_email())
    assert error.value.code == "ResourceNotFound.PhoneEmailNotExist"


def test_same_parameters_within_one_second_are_refused_as_a_replay():
    """What the contract's replay rule (a TC3 signature is accepted once) means for Tencent's own, unpaced SDK.

    TC3 signs neither the action nor anything unique to the call: the time is in whole seconds. Two honest
    calls with the same parameters in the same second therefore carry the same signature, and the second is
    refused, even for a different action. Tencent Cloud itself accepts both. This test records the
    behaviour as the contract asks for it; the other tests pace their calls (stack.PacedDomainClient).
    """
    client = stack.tencent(paced=False)
    for _ in range(3):  # a slow first call may end in the next second: then try again
        email = stack.unique_email("same-second")
        time.sleep(1.02 - time.time() % 1)  # both calls at the start of one second
        send_code(client, MAIL, email)
        with pytest.raises(TencentCloudSDKException) as error:
            delete(client, MAIL, email)  # a different action, the same body {"Type": 2, "Code": email}
        stack.wait_for_mail(email)
        if error.value.code != "ResourceNotFound.PhoneEmailNotExist":
            break
    assert error.value.code == "AuthFailure.SignatureFailure"
