"""Refusals of the signed front door, with raw requests signed by the vendors' own helpers (stack.acs3, stack.rpc,
stack.tc3), each in the vendor's code and envelope: Alibaba HTTP 4xx {RequestId, Code, Message}; Tencent
HTTP 200, Content-Type application/json, {"Response": {"Error": {Code, Message}, "RequestId"}}. A refused
request changes nothing and sends nothing."""

import time
from datetime import timedelta

import pytest
from alibabacloud_domain20180129 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.domain.v20180808 import models as tm

import stack

ALIBABA = ["acs3", "rpc"]
# A read-only action, so that an accepted probe changes nothing either.
PROBE = ("DescribeIntlPhoneEmailList", {"Type": 0, "Limit": 1})
WRONG_SECRET = ("local-alice", "not-the-secret")
UNKNOWN_KEY = ("local-nobody", "local-nobody-secret")


def sign(scheme, action, params, **kw):
    return getattr(stack, scheme)(action, params, **kw)


# ---------------------------------------------------------------------------------------------------------
# Wrong secret, unknown key.

@pytest.mark.parametrize("scheme", ALIBABA)
def test_wrong_secret(scheme):
    stack.assert_alibaba_error(sign(scheme, *PROBE, key=WRONG_SECRET).send(), "SignatureDoesNotMatch", 400)


@pytest.mark.parametrize("scheme", ALIBABA)
def test_another_keys_secret(scheme):
    stack.assert_alibaba_error(sign(scheme, *PROBE, key=(stack.ALICE[0], stack.BOB[1])).send(), "SignatureDoesNotMatch", 400)


def test_wrong_secret_tencent():
    stack.assert_tencent_error(stack.tc3(*PROBE, key=WRONG_SECRET).send(), "AuthFailure.SignatureFailure")


@pytest.mark.parametrize("scheme", ALIBABA)
def test_unknown_key(scheme):
    stack.assert_alibaba_error(sign(scheme, *PROBE, key=UNKNOWN_KEY).send(), "InvalidAccessKeyId.NotFound", 404)


def test_unknown_key_tencent():
    stack.assert_tencent_error(stack.tc3(*PROBE, key=UNKNOWN_KEY).send(), "AuthFailure.SecretIdNotFound")


@pytest.mark.parametrize("key, code, status", [
    (WRONG_SECRET, "SignatureDoesNotMatch", 400),
    (UNKNOWN_KEY, "InvalidAccessKeyId.NotFound", 404),
], ids=["wrong-secret", "unknown-key"])
@pytest.mark.parametrize("mode", ALIBABA)
def test_refusals_reach_alibabas_sdk_as_exceptions(mode, key, code, status):
    with pytest.raises(ClientException) as error:
        stack.alibaba(key, mode).query_email_verification(m.QueryEmailVerificationRequest(email=stack.unique_email()))
    assert (error.value.code, error.value.status_code) == (code, status)
    assert stack.REQUEST_ID.match(error.value.request_id)


@pytest.mark.parametrize("key, code", [
    (WRONG_SECRET, "AuthFailure.SignatureFailure"),
    (UNKNOWN_KEY, "AuthFailure.SecretIdNotFound"),
], ids=["wrong-secret", "unknown-key"])
def test_refusals_reach_tencents_sdk_as_exceptions(key, code):
    request = tm.DescribeIntlPhoneEmailListRequest()
    request.Type = 0
    with pytest.raises(TencentCloudSDKException) as error:
        stack.tencent(key).DescribeIntlPhoneEmailList(request)
    assert error.value.code == code
    assert stack.REQUEST_ID.match(error.value.requestId)


# ---------------------------------------------------------------------------------------------------------
# The clock: Alibaba allows 15 minutes either way, Tencent 5.

@pytest.mark.parametrize("minutes", [16, -16])
@pytest.mark.parametrize("scheme", ALIBABA)
def test_alibaba_clock_off_by_16_minutes(scheme, minutes):
    answer = sign(scheme, *PROBE, skew=timedelta(minutes=minutes)).send()
    stack.assert_alibaba_error(answer, "InvalidTimeStamp.Expired", 400)


@pytest.mark.parametrize("minutes", [14, -14])
@pytest.mark.parametrize("scheme", ALIBABA)
def test_alibaba_clock_off_by_14_minutes_is_accepted(scheme, minutes):
    stack.assert_tencent_ok(sign(scheme, *PROBE, skew=timedelta(minutes=minutes)).send())


@pytest.mark.parametrize("minutes", [16, -16, 6, -6])
def test_tencent_clock_off_by_more_than_5_minutes(minutes):
    stack.assert_tencent_error(stack.tc3(*PROBE, skew=timedelta(minutes=minutes)).send(), "AuthFailure.SignatureExpire")


@pytest.mark.parametrize("minutes", [4, -4])
def test_tencent_clock_off_by_4_minutes_is_accepted(minutes):
    stack.assert_tencent_ok(stack.tc3(*PROBE, skew=timedelta(minutes=minutes)).send())


# ---------------------------------------------------------------------------------------------------------
# Replay: a nonce (Alibaba) or a signature (Tencent) is accepted once.

@pytest.mark.parametrize("scheme", ALIBABA)
def test_replay(scheme):
    signed = sign(scheme, *PROBE)
    stack.assert_tencent_ok(signed.send())
    stack.assert_alibaba_error(signed.send(), "SignatureNonceUsed", 400)


@pytest.mark.parametrize("scheme", ALIBABA)
def test_used_nonce_in_a_new_request(scheme):
    """A fresh, correctly signed request that reuses a nonce is refused too."""
    nonce = stack.AlibabaUtils.get_nonce()
    stack.assert_tencent_ok(sign(scheme, "DescribeIntlPhoneEmailList", {"Type": 1}, nonce=nonce).send())
    answer = sign(scheme, "QueryEmailVerification", {"Email": stack.unique_email()}, nonce=nonce).send()
    stack.assert_alibaba_error(answer, "SignatureNonceUsed", 400)


@pytest.mark.parametrize("scheme", ALIBABA)
def test_a_refused_request_does_not_spend_its_nonce(scheme):
    signed = sign(scheme, "QueryEmailVerification", {"Email": stack.unique_email()})
    tampered = signed.altered(query={"Email": stack.unique_email()})
    stack.assert_alibaba_error(tampered.send(), "SignatureDoesNotMatch", 400)
    stack.assert_alibaba_error(signed.send(), "EmailVerificationNotExist", 404)  # reached the action


def test_replay_tencent():
    """A write's signature is accepted once; a read's may repeat (test_door.py), but never serves a write."""
    signed = stack.tc3("DeleteIntlPhoneEmail", {"Type": 2, "Code": stack.unique_email()})
    stack.assert_tencent_error(signed.send(), "ResourceNotFound.PhoneEmailNotExist")
    stack.assert_tencent_error(signed.send(), "AuthFailure.SignatureFailure")
    read = stack.tc3(*PROBE)
    stack.assert_tencent_ok(read.send())
    stack.assert_tencent_ok(read.send())


def test_replay_tencent_with_another_action():
    """X-TC-Action is not signed; the signature was used, whatever action the copy names."""
    params = {"Type": 2, "Code": stack.unique_email()}
    signed = stack.tc3("DescribeIntlPhoneEmailList", params)
    assert stack.assert_tencent_ok(signed.send())["TotalCount"] == 0
    for action in ("SendIntlPhoneEmailCode", "DeleteIntlPhoneEmail"):
        stack.assert_tencent_error(signed.altered(headers={"X-TC-Action": action}).send(), "AuthFailure.SignatureFailure")
    time.sleep(0.5)
    assert stack.mails_to(params["Code"]) == []


# ---------------------------------------------------------------------------------------------------------
# Tampering after signing.

def test_acs3_query_value_changed():
    signed = stack.acs3("QueryEmailVerification", {"Email": stack.unique_email()})
    answer = signed.altered(query={"Email": stack.unique_email()}).send()
    stack.assert_alibaba_error(answer, "SignatureDoesNotMatch", 400)


def test_acs3_query_parameter_added():
    signed = stack.acs3(*PROBE)
    stack.assert_alibaba_error(signed.altered(query={"Offset": "1"}).send(), "SignatureDoesNotMatch", 400)


def test_acs3_action_header_changed():
    signed = stack.acs3("QueryEmailVerification", {"Email": stack.unique_email()})
    answer = signed.altered(headers={"x-acs-action": "DeleteEmailVerification"}).send()
    stack.assert_alibaba_error(answer, "SignatureDoesNotMatch", 400)


def test_acs3_body_added():
    """A content type added after signing is one the signature does not cover: refused before the signature
    is even checked."""
    signed = stack.acs3(*PROBE)
    answer = signed.altered(headers={"content-type": "application/x-www-form-urlencoded"}, body=b"Type=1").send()
    stack.assert_alibaba_error(answer, "IncompleteSignature", 400)
    answer = signed.altered(body=b"Type=1").send()
    stack.assert_alibaba_error(answer, "SignatureDoesNotMatch", 400)


def test_rpc_parameter_changed():
    signed = stack.rpc("QueryEmailVerification", {"Email": stack.unique_email()})
    answer = signed.altered(query={"Email": stack.unique_email()}).send()
    stack.assert_alibaba_error(answer, "SignatureDoesNotMatch", 400)


def test_rpc_action_changed():
    signed = stack.rpc("QueryEmailVerification", {"Email": stack.unique_email()})
    answer = signed.altered(query={"Action": "DeleteEmailVerification"}).send()
    stack.assert_alibaba_error(answer, "SignatureDoesNotMatch", 400)


def test_rpc_signed_for_post_sent_as_get():
    signed = stack.rpc(*PROBE)
    signed.method = "GET"
    stack.assert_alibaba_error(signed.send(), "SignatureDoesNotMatch", 400)


def test_rpc_get_is_accepted():
    stack.assert_tencent_ok(stack.rpc(*PROBE, method="GET").send())


def test_tc3_body_changed():
    signed = stack.tc3("DescribeIntlPhoneEmailList", {"Type": 1})
    answer = signed.altered(body=b'{"Type": 2}').send()
    stack.assert_tencent_error(answer, "AuthFailure.SignatureFailure")


def test_tc3_timestamp_changed():
    signed = stack.tc3(*PROBE)
    later = str(int(signed.headers["X-TC-Timestamp"]) + 1)
    stack.assert_tencent_error(signed.altered(headers={"X-TC-Timestamp": later}).send(), "AuthFailure.SignatureFailure")


# ---------------------------------------------------------------------------------------------------------
# Unknown action, unsigned, incomplete.

@pytest.mark.parametrize("scheme", ALIBABA)
def test_unknown_action(scheme):
    stack.assert_alibaba_error(sign(scheme, "NoSuchAction", {}).send(), "InvalidAction.NotFound", 404)


def test_unknown_action_tencent():
    stack.assert_tencent_error(stack.tc3("NoSuchAction", {}).send(), "InvalidAction")


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_unsigned(method):
    stack.assert_alibaba_error(stack.http(method, "/"), "MissingParameter", 400)


def test_unsigned_with_parameters():
    answer = stack.http("POST", "/?Action=QueryEmailVerification&Email=a%40example.com")
    stack.assert_alibaba_error(answer, "MissingParameter", 400)


def test_acs3_signed_nonce_header_removed():
    signed = stack.acs3(*PROBE)
    answer = signed.altered(drop_headers=("x-acs-signature-nonce",)).send()
    stack.assert_alibaba_error(answer, "MissingParameter", 400)


def test_acs3_without_nonce_header():
    """Signed correctly, but with no x-acs-signature-nonce at all: a required parameter is missing."""
    answer = stack.acs3(*PROBE, unsigned=("x-acs-signature-nonce",)).send()
    stack.assert_alibaba_error(answer, "MissingParameter", 400)


@pytest.mark.parametrize("name", ["SignatureNonce", "Timestamp", "AccessKeyId"])
def test_rpc_without(name):
    stack.assert_alibaba_error(stack.rpc(*PROBE, omit=(name,)).send(), "MissingParameter", 400)


def test_tencent_without_authorization():
    signed = stack.tc3(*PROBE).altered(drop_headers=("Authorization",))
    stack.assert_tencent_error(signed.send(), "AuthFailure.InvalidAuthorization")


def test_tencent_without_timestamp():
    signed = stack.tc3(*PROBE).altered(drop_headers=("X-TC-Timestamp",))
    stack.assert_tencent_error(signed.send(), "AuthFailure.InvalidAuthorization")


# ---------------------------------------------------------------------------------------------------------
# A refused request changes nothing and sends nothing.

def refused_submits():
    """(name, build(email, other) -> a refused request submitting `email`, expected code)."""
    return [
        ("acs3-tampered", lambda e, o: stack.acs3("SubmitEmailVerification", {"Email": o}).altered(query={"Email": e}),
         "SignatureDoesNotMatch"),
        ("rpc-tampered", lambda e, o: stack.rpc("SubmitEmailVerification", {"Email": o}).altered(query={"Email": e}),
         "SignatureDoesNotMatch"),
        ("acs3-action-changed", lambda e, o: stack.acs3("QueryEmailVerification", {"Email": e})
         .altered(headers={"x-acs-action": "SubmitEmailVerification"}), "SignatureDoesNotMatch"),
        ("acs3-wrong-secret", lambda e, o: stack.acs3("SubmitEmailVerification", {"Email": e}, key=WRONG_SECRET),
         "SignatureDoesNotMatch"),
        ("rpc-wrong-secret", lambda e, o: stack.rpc("SubmitEmailVerification", {"Email": e}, key=WRONG_SECRET),
         "SignatureDoesNotMatch"),
        ("acs3-unknown-key", lambda e, o: stack.acs3("SubmitEmailVerification", {"Email": e}, key=UNKNOWN_KEY),
         "InvalidAccessKeyId.NotFound"),
        ("rpc-expired", lambda e, o: stack.rpc("SubmitEmailVerification", {"Email": e}, skew=timedelta(minutes=-16)),
         "InvalidTimeStamp.Expired"),
    ]


@pytest.mark.parametrize("name, build, code", refused_submits(), ids=[r[0] for r in refused_submits()])
def test_refused_submit_creates_nothing_and_sends_nothing(name, build, code):
    email, other = stack.unique_email(f"refused-{name}"), stack.unique_email(f"refused-{name}")
    stack.assert_alibaba_error(build(email, other).send(), code)
    time.sleep(0.5)
    for address in (email, other):
        stack.assert_alibaba_error(stack.record_of(address), "EmailVerificationNotExist", 404)
        assert stack.mails_to(address) == []
    # The address is as new as before: a proper Submit is a success (not ExistList, not over quota).
    body = stack.alibaba().submit_email_verification(m.SubmitEmailVerificationRequest(email=email)).body
    assert [(i.email, i.code) for i in body.success_list] == [(email, "Success")]
    stack.wait_for_mail(email)
    assert len(stack.mails_to(email)) == 1
    stack.alibaba().delete_email_verification(m.DeleteEmailVerificationRequest(email=email))


@pytest.mark.parametrize("scheme", ALIBABA)
def test_replayed_submit_sends_nothing_more(scheme):
    email = stack.unique_email(f"replayed-{scheme}")
    signed = sign(scheme, "SubmitEmailVerification", {"Email": email, "SendIfExist": "true"})
    first = stack.assert_alibaba_ok(signed.send())
    assert [i["Code"] for i in first["SuccessList"]] == ["Success"]
    before = stack.record_of(email).json()
    stack.assert_alibaba_error(signed.send(), "SignatureNonceUsed", 400)
    time.sleep(0.5)
    assert len(stack.mails_to(email)) == 1
    assert stack.record_of(email).json()["GmtModified"] == before["GmtModified"]
    stack.route("delete-email-verification", {"Email": email})


def refused_sends():
    """(name, type, build(code, other) -> a refused SendIntlPhoneEmailCode to `code`, expected Tencent code)."""
    return [
        ("mail-tampered", 2, lambda c, o: stack.tc3("SendIntlPhoneEmailCode", {"Type": 2, "Code": o})
         .altered(body=f'{{"Type": 2, "Code": "{c}"}}'.encode()), "AuthFailure.SignatureFailure"),
        ("sms-tampered", 1, lambda c, o: stack.tc3("SendIntlPhoneEmailCode", {"Type": 1, "Code": o})
         .altered(body=f'{{"Type": 1, "Code": "{c}"}}'.encode()), "AuthFailure.SignatureFailure"),
        ("mail-wrong-secret", 2, lambda c, o: stack.tc3("SendIntlPhoneEmailCode", {"Type": 2, "Code": c}, key=WRONG_SECRET),
         "AuthFailure.SignatureFailure"),
        ("sms-expired", 1, lambda c, o: stack.tc3("SendIntlPhoneEmailCode", {"Type": 1, "Code": c}, skew=timedelta(minutes=6)),
         "AuthFailure.SignatureExpire"),
        ("mail-unknown-key", 2, lambda c, o: stack.tc3("SendIntlPhoneEmailCode", {"Type": 2, "Code": c}, key=UNKNOWN_KEY),
         "AuthFailure.SecretIdNotFound"),
    ]


@pytest.mark.parametrize("name, type_, build, code", refused_sends(), ids=[r[0] for r in refused_sends()])
def test_refused_send_sends_nothing_and_spends_no_quota(name, type_, build, code):
    make = stack.unique_email if type_ == 2 else (lambda *_: stack.unique_phone())
    target, other = make(f"refused-{name}"), make(f"refused-{name}")
    messages = stack.mails_to if type_ == 2 else stack.texts_to
    stack.assert_tencent_error(build(target, other).send(), code)
    time.sleep(0.5)
    assert messages(target) == [] and messages(other) == []
    # No send was counted: a proper send now goes out (not FailedOperation.SendVerifyCodeIsLimited).
    stack.assert_tencent_ok(stack.tc3("SendIntlPhoneEmailCode", {"Type": type_, "Code": target}).send())
    code_now = stack.code_by_mail(target) if type_ == 2 else stack.code_by_text(target)
    assert len(messages(target)) == 1 and code_now.isdigit()
