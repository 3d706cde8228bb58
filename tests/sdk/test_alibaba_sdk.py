"""Alibaba Cloud's own SDK (alibabacloud-domain20180129), unchanged, against the front door: the whole link
flow in both of its signature styles, and errors as the SDK's exceptions."""

import time
from urllib.parse import urlsplit

import pytest
from alibabacloud_domain20180129 import models as m
from alibabacloud_tea_openapi.exceptions import ClientException

import stack

MODES = ["acs3", "rpc"]


def outcomes(items):
    return [(i.email, i.code) for i in items]


@pytest.mark.parametrize("mode", MODES)
def test_link_flow(mode):
    client = stack.alibaba(mode=mode)
    email = stack.unique_email(f"link-{mode}")

    submitted = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=email))
    assert submitted.status_code == 200
    assert outcomes(submitted.body.success_list) == [(email, "Success")]
    assert submitted.body.fail_list == [] and submitted.body.exist_list == []
    assert stack.REQUEST_ID.match(submitted.body.request_id)

    mail = stack.wait_for_mail(email)
    link = stack.link_url(mail)
    assert link.startswith(f"http://{stack.ENDPOINT}/"), link
    token = stack.link_token(mail)

    pending = client.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body
    assert (pending.email, pending.user_id, pending.verification_status) == (email, "alice", 0)
    assert pending.verification_time == "" and pending.confirm_ip == ""

    verified = client.verify_email(m.VerifyEmailRequest(token=token))
    assert verified.status_code == 200
    assert stack.REQUEST_ID.match(verified.body.request_id)

    record = client.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body
    assert (record.email, record.user_id, record.verification_status) == (email, "alice", 1)
    assert record.verification_time != "" and record.confirm_ip != ""
    assert len(record.email_verification_no) == 32

    # The link in the mail stays usable: opening it again is a success that changes nothing.
    target = urlsplit(link)
    page = stack.http("GET", f"{target.path}?{target.query}")
    assert page.status == 200, page
    assert b'data-code="Success"' in page.body, page
    again = client.query_email_verification(m.QueryEmailVerificationRequest(email=email)).body
    assert (again.verification_time, again.confirm_ip) == (record.verification_time, record.confirm_ip)

    listed = client.list_email_verification(m.ListEmailVerificationRequest(email=email, page_num=1, page_size=5)).body
    assert (listed.current_page_num, listed.page_size, listed.total_item_num, listed.total_page_num) == (1, 5, 1, 1)
    assert [(d.email, d.user_id, d.verification_status) for d in listed.data] == [(email, "alice", 1)]
    assert listed.data[0].email_verification_no == record.email_verification_no

    resent = client.resend_email_verification(m.ResendEmailVerificationRequest(email=email)).body
    assert resent.success_list == []
    assert outcomes(resent.fail_list) == [(email, "EmailVerified")]
    assert len(stack.mails_to(email)) == 1

    deleted = client.delete_email_verification(m.DeleteEmailVerificationRequest(email=email)).body
    assert outcomes(deleted.success_list) == [(email, "Success")]
    assert deleted.fail_list == []

    with pytest.raises(ClientException) as gone:
        client.query_email_verification(m.QueryEmailVerificationRequest(email=email))
    assert gone.value.code == "EmailVerificationNotExist"
    assert gone.value.status_code == 404


@pytest.mark.parametrize("mode", MODES)
def test_list_pages(mode):
    """Three records of one Submit, listed two to a page within their creation window."""
    client = stack.alibaba(mode=mode)
    tag = stack.unique_email(f"page-{mode}").split("@")[0]
    emails = [f"{tag}-{i}@example.com" for i in range(3)]
    time.sleep(1.1)  # nothing else this run made shares the window
    begin = int(time.time() * 1000)
    submitted = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=",".join(emails))).body
    end = int(time.time() * 1000)
    assert sorted(outcomes(submitted.success_list)) == sorted((e, "Success") for e in emails)
    try:
        def page(num):
            return client.list_email_verification(m.ListEmailVerificationRequest(
                begin_create_time=begin, end_create_time=end, verification_status=0, page_num=num, page_size=2)).body

        first, second = page(1), page(2)
        assert (first.current_page_num, first.page_size, first.total_item_num, first.total_page_num) == (1, 2, 3, 2)
        assert (first.pre_page, first.next_page) == (False, True)
        assert (second.current_page_num, second.total_item_num, second.pre_page, second.next_page) == (2, 3, True, False)
        assert len(first.data) == 2 and len(second.data) == 1
        assert sorted(d.email for d in first.data + second.data) == sorted(emails)
        assert all(d.user_id == "alice" for d in first.data + second.data)
        assert page(3).data == []
    finally:
        client.delete_email_verification(m.DeleteEmailVerificationRequest(email=",".join(emails)))


@pytest.mark.parametrize("mode", MODES)
def test_submit_twice_without_send_if_exist_gives_exist_list(mode):
    client = stack.alibaba(mode=mode)
    email = stack.unique_email(f"twice-{mode}")
    first = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=email)).body
    assert outcomes(first.success_list) == [(email, "Success")]
    second = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=email)).body
    assert second.success_list == [] and second.fail_list == []
    assert outcomes(second.exist_list) == [(email, "EmailVerificationExist")]
    stack.wait_for_mail(email)
    assert len(stack.mails_to(email)) == 1
    client.delete_email_verification(m.DeleteEmailVerificationRequest(email=email))


@pytest.mark.parametrize("mode", MODES)
def test_boolean_send_if_exist_false_as_the_sdk_sends_it(mode):
    """The SDK sends booleans as True/False in the query."""
    client = stack.alibaba(mode=mode)
    email = stack.unique_email(f"bool-{mode}")
    client.submit_email_verification(m.SubmitEmailVerificationRequest(email=email))
    again = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=email, send_if_exist=False)).body
    assert outcomes(again.exist_list) == [(email, "EmailVerificationExist")]
    client.delete_email_verification(m.DeleteEmailVerificationRequest(email=email))


@pytest.mark.parametrize("mode", MODES)
def test_malformed_email_on_query_is_parameter_illegal(mode):
    with pytest.raises(ClientException) as error:
        stack.alibaba(mode=mode).query_email_verification(m.QueryEmailVerificationRequest(email="not-an-address"))
    assert error.value.code == "ParameterIllegal"
    assert error.value.status_code == 400
    assert stack.REQUEST_ID.match(error.value.request_id)
    assert set(error.value.data) >= {"RequestId", "Code", "Message"}


@pytest.mark.parametrize("mode", MODES)
def test_unknown_token_is_token_invalid(mode):
    with pytest.raises(ClientException) as error:
        stack.alibaba(mode=mode).verify_email(m.VerifyEmailRequest(token="ab" * 32))
    assert error.value.code == "TokenInvalid"


@pytest.mark.parametrize("mode", MODES)
def test_invalid_address_in_a_batch_fails_alone(mode):
    client = stack.alibaba(mode=mode)
    good = stack.unique_email(f"batch-{mode}")
    body = client.submit_email_verification(m.SubmitEmailVerificationRequest(email=f"{good},not-an-address")).body
    assert outcomes(body.success_list) == [(good, "Success")]
    assert outcomes(body.fail_list) == [("not-an-address", "ParameterIllegal")]
    client.delete_email_verification(m.DeleteEmailVerificationRequest(email=good))


@pytest.mark.parametrize("mode", MODES)
def test_lang_zh(mode):
    with pytest.raises(ClientException) as error:
        stack.alibaba(mode=mode).query_email_verification(
            m.QueryEmailVerificationRequest(email=stack.unique_email(), lang="zh"))
    assert error.value.code == "EmailVerificationNotExist"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error.value.data["Message"]), error.value.data
