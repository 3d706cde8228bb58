"""Every one of the eleven actions through each of the three signature styles, with the vendors' generic calls:
Alibaba's Client.call_api (ACS3 and RPC) and Tencent's call_json (TC3). Each action answers in its own
envelope whatever the signature: Alibaba-style actions flat, Tencent-style ones inside {"Response": ...}.

The preparation of each case (a record, a code) goes through the per-action routes as caller alice, so that
only the action under test passes the front door."""

import pytest
from alibabacloud_tea_openapi import models as open_api_models
from darabonba.runtime import RuntimeOptions

import stack

STYLES = ["acs3", "rpc", "tc3"]


def generic(style):
    """call(action, params) -> the answer's JSON body, as the vendor's generic call returns it."""
    if style == "tc3":
        client = stack.tencent()
        return lambda action, params: client.call_json(action, params)
    client = stack.alibaba(mode=style)

    def call(action, params):
        api = open_api_models.Params(action=action, version=stack.ALIBABA_VERSION, protocol="HTTP", pathname="/",
                                     method="POST", auth_type="AK", style="RPC", req_body_type="formData",
                                     body_type="json")
        request = open_api_models.OpenApiRequest(query={k: str(v) for k, v in params.items()})
        answer = client.call_api(api, request, RuntimeOptions())
        assert answer["statusCode"] == 200, answer
        return answer["body"]

    return call


# ---------------------------------------------------------------------------------------------------------
# Preparation through the per-action routes (caller alice).

def submitted():
    email = stack.unique_email("reach")
    body = stack.assert_alibaba_ok(stack.route("submit-email-verification", {"Email": email}))
    assert [i["Code"] for i in body["SuccessList"]] == ["Success"], body
    return email


def verified_contact():
    email = stack.unique_email("reach-code")
    stack.assert_tencent_ok(stack.route("send-intl-phone-email-code", {"Type": 2, "Code": email}))
    code = stack.code_by_mail(email)
    stack.assert_tencent_ok(stack.route("create-intl-phone-email", {"Type": 2, "Code": email, "VerifyCode": code}))
    return email


def contact_count(email):
    return stack.assert_tencent_ok(stack.route("describe-intl-phone-email-list", {"Type": 2, "Code": email}))["TotalCount"]


def flat(body):
    """An Alibaba-style success: flat, PascalCase, with a RequestId."""
    assert "Response" not in body and "Code" not in body, body
    assert stack.REQUEST_ID.match(body["RequestId"]), body
    return body


def wrapped(body):
    """A Tencent-style success: {"Response": {..., "RequestId"}} without Error."""
    assert set(body) == {"Response"}, body
    assert "Error" not in body["Response"], body
    assert stack.REQUEST_ID.match(body["Response"]["RequestId"]), body
    return body["Response"]


# ---------------------------------------------------------------------------------------------------------
# One case per action.

def submit_email_verification(call):
    email = stack.unique_email("reach")
    body = flat(call("SubmitEmailVerification", {"Email": email}))
    assert [(i["Email"], i["Code"]) for i in body["SuccessList"]] == [(email, "Success")]
    assert body["FailList"] == [] and body["ExistList"] == []
    stack.wait_for_mail(email)
    assert stack.record_of(email).status == 200


def resend_email_verification(call):
    email = stack.unique_email("reach")
    body = flat(call("ResendEmailVerification", {"Email": email}))
    assert body["SuccessList"] == []
    assert [(i["Email"], i["Code"]) for i in body["FailList"]] == [(email, "EmailVerificationNotExist")]


def verify_email(call):
    email = submitted()
    token = stack.link_token(stack.wait_for_mail(email))
    body = flat(call("VerifyEmail", {"Token": token}))
    assert set(body) == {"RequestId"}, body
    assert stack.record_of(email).json()["VerificationStatus"] == 1


def query_email_verification(call):
    email = submitted()
    body = flat(call("QueryEmailVerification", {"Email": email}))
    assert (body["Email"], body["UserId"], body["VerificationStatus"]) == (email, "alice", 0)


def list_email_verification(call):
    email = submitted()
    body = flat(call("ListEmailVerification", {"Email": email, "PageNum": 1, "PageSize": 5}))
    assert (body["TotalItemNum"], body["CurrentPageNum"], body["PageSize"]) == (1, 1, 5)
    assert [d["Email"] for d in body["Data"]] == [email]


def delete_email_verification(call):
    email = submitted()
    body = flat(call("DeleteEmailVerification", {"Email": email}))
    assert [(i["Email"], i["Code"]) for i in body["SuccessList"]] == [(email, "Success")]
    stack.assert_alibaba_error(stack.record_of(email), "EmailVerificationNotExist", 404)


def send_intl_phone_email_code(call):
    email = stack.unique_email("reach-code")
    body = wrapped(call("SendIntlPhoneEmailCode", {"Type": 2, "Code": email}))
    assert set(body) == {"RequestId"}, body
    assert stack.code_by_mail(email).isdigit()


def create_intl_phone_email(call):
    email = stack.unique_email("reach-code")
    stack.assert_tencent_ok(stack.route("send-intl-phone-email-code", {"Type": 2, "Code": email}))
    code = stack.code_by_mail(email)
    body = wrapped(call("CreateIntlPhoneEmail", {"Type": 2, "Code": email, "VerifyCode": code}))
    assert set(body) == {"RequestId"}, body
    assert contact_count(email) == 1
    stack.route("delete-intl-phone-email", {"Type": 2, "Code": email})


def describe_intl_phone_email_list(call):
    email = verified_contact()
    body = wrapped(call("DescribeIntlPhoneEmailList", {"Type": 2, "Code": email}))
    assert body["TotalCount"] == 1
    assert [(e["Code"], e["Type"]) for e in body["PhoneEmailList"]] == [(email, 2)]
    stack.route("delete-intl-phone-email", {"Type": 2, "Code": email})


def delete_intl_phone_email(call):
    email = verified_contact()
    body = wrapped(call("DeleteIntlPhoneEmail", {"Type": 2, "Code": email}))
    assert set(body) == {"RequestId"}, body
    assert contact_count(email) == 0


def describe_verification_evidence(call):
    # An address: its first send, then the link opened on the page.
    email = submitted()
    stack.open_link(stack.link_token(stack.wait_for_mail(email)))
    body = flat(call("DescribeVerificationEvidence", {"Email": email}))
    assert [(e["Kind"], e["Outcome"]) for e in body["Evidence"]] == [("Sent", "Sent"), ("LinkOpened", "Verified")], body
    assert body["Evidence"][0]["MessageId"], "SES's message id is kept"
    assert {e["Destination"] for e in body["Evidence"]} == {email}
    # A contact: the code sent by mail, then confirmed.
    contact = verified_contact()
    body = flat(call("DescribeVerificationEvidence", {"Type": 2, "Code": contact}))
    assert [e["Kind"] for e in body["Evidence"]] == ["CodeSent", "CodeConfirmed"], body
    assert body["TotalCount"] == 2
    stack.route("delete-intl-phone-email", {"Type": 2, "Code": contact})


ACTIONS = [
    submit_email_verification,
    resend_email_verification,
    verify_email,
    query_email_verification,
    list_email_verification,
    delete_email_verification,
    send_intl_phone_email_code,
    create_intl_phone_email,
    describe_intl_phone_email_list,
    delete_intl_phone_email,
    describe_verification_evidence,
]


@pytest.mark.parametrize("case", ACTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("style", STYLES)
def test_every_action_with_every_signature(style, case):
    case(generic(style))


# ---------------------------------------------------------------------------------------------------------
# The envelopes, byte for byte, of raw signed requests.

@pytest.mark.parametrize("style", STYLES)
def test_alibaba_style_action_answers_flat_json_with_charset(style):
    email = submitted()
    answer = getattr(stack, style)("QueryEmailVerification", {"Email": email}).send()
    assert answer.status == 200, answer
    assert answer.content_type == "application/json;charset=utf-8", answer
    assert flat(answer.json())["Email"] == email


@pytest.mark.parametrize("style", STYLES)
def test_tencent_style_action_answers_in_response_as_application_json(style):
    answer = getattr(stack, style)("DescribeIntlPhoneEmailList", {"Type": 0, "Limit": 1}).send()
    assert answer.status == 200, answer
    assert answer.content_type == "application/json", answer
    assert isinstance(wrapped(answer.json())["TotalCount"], int)


@pytest.mark.parametrize("style", STYLES)
def test_alibaba_style_error_is_4xx_flat_whatever_the_signature(style):
    answer = getattr(stack, style)("QueryEmailVerification", {"Email": stack.unique_email()}).send()
    stack.assert_alibaba_error(answer, "EmailVerificationNotExist", 404)


@pytest.mark.parametrize("style", STYLES)
def test_tencent_style_error_is_200_in_response_whatever_the_signature(style):
    answer = getattr(stack, style)("DeleteIntlPhoneEmail", {"Type": 2, "Code": stack.unique_email()}).send()
    stack.assert_tencent_error(answer, "ResourceNotFound.PhoneEmailNotExist")
