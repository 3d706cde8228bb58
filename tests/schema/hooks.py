"""Schemathesis hooks for docs/openapi.yaml (loaded through SCHEMATHESIS_HOOKS by tests/schema/run.sh).

Schemathesis validates JSON answers against the document by itself. These hooks let it validate the other two
kinds of answer too, and add the one check that a media type cannot express:

- XML (`Format=XML`): read into the same object as the JSON answer (the document gives one schema for both),
  following the service's XML conventions: list fields hold one element per item, numbers and booleans are
  text. The root element must be `<Error>` for an error and `<ActionResponse>` for a success.
- HTML (the link page): the page as a string, so that the document's `pattern` on
  `<p id="outcome" data-code="…">` checks the outcome.
- `tencent_envelope`: a Tencent-style action answers HTTP 200 with `Content-Type: application/json` exactly
  (no charset), the only form in which Tencent's SDK reads an error.

One adaptation to the local stack: `cargo lambda watch` (cargo-lambda 1.9.2, `trigger_router.rs`) must put a
body with no `Content-Type`, a `text/*` or an `application/json` one into the function's event as a string, and
answers HTTP 500 by itself, without running the function, when those bytes are not UTF-8. So a generated
JSON body that is not UTF-8 is sent with its invalid bytes replaced by U+FFFD: still a malformed body, which
the service must refuse, but one the emulator can hand over (tests/schema/README.md).

No failure is dropped: every server error, undocumented status or content type, and answer off the schema fails
the gate (the one defect it found, in List, is fixed; tests/schema/README.md).
"""

import os
import sys
import xml.etree.ElementTree as ElementTree

import schemathesis

# The fields whose XML element holds one element per item (<SendResult>, <EmailVerification>, <Entry>).
LIST_FIELDS = {"SuccessList", "FailList", "ExistList", "Data", "Evidence"}
INTEGER_FIELDS = {"VerificationStatus", "CurrentPageNum", "PageSize", "TotalPageNum", "TotalItemNum", "RetryAfterSeconds",
                  "PageNum", "TotalCount", "RetentionDays", "Timestamp"}
BOOLEAN_FIELDS = {"NextPage", "PrePage"}
ITEM_ELEMENTS = {"SuccessList": "SendResult", "FailList": "SendResult", "ExistList": "SendResult", "Data": "EmailVerification",
                 "Evidence": "Entry"}


class XmlShapeError(ValueError):
    pass


def _leaf(name, element):
    if len(element):
        raise XmlShapeError(f"<{name}> holds elements where text was expected")
    text = element.text or ""
    if name in INTEGER_FIELDS:
        try:
            return int(text)
        except ValueError:
            return text  # left as text: the schema then reports the wrong type
    if name in BOOLEAN_FIELDS:
        return {"true": True, "false": False}.get(text, text)
    return text


def _object(element):
    out = {}
    for child in element:
        if child.tag in out:
            raise XmlShapeError(f"<{child.tag}> appears twice in <{element.tag}>")
        if child.tag in LIST_FIELDS:
            if (child.text or "").strip():
                raise XmlShapeError(f"<{child.tag}> holds text")
            items = []
            for item in child:
                if item.tag != ITEM_ELEMENTS[child.tag]:
                    raise XmlShapeError(f"<{child.tag}> holds <{item.tag}>, expected <{ITEM_ELEMENTS[child.tag]}>")
                items.append(_object(item))
            out[child.tag] = items
        else:
            out[child.tag] = _leaf(child.tag, child)
    return out


@schemathesis.hook
def before_call(context, case, kwargs):
    media_type = (case.media_type or "application/json").lower()
    textual = media_type.startswith("text/") or media_type.startswith("application/json")
    if textual and isinstance(case.body, (bytes, bytearray)):
        case.body = bytes(case.body).decode("utf-8", errors="replace").encode("utf-8")


# ---- known server defects: none. (ListEmailVerification with BeginCreateTime after EndCreateTime answered
# HTTP 500 until it was fixed: tests/tests/rules.rs, a_begin_after_the_end_lists_nothing.)

@schemathesis.deserializer("application/xml")
def deserialize_xml(ctx, response):
    if not response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'):
        raise XmlShapeError("the answer does not start with the XML declaration")
    root = ElementTree.fromstring(response.content)
    action = (ctx.operation.definition.raw or {}).get("x-action") if ctx.operation is not None else None
    if response.status_code >= 400:
        expected = "Error"
    elif action:
        expected = f"{action}Response"
    else:  # the front door: any action's answer
        expected = root.tag if root.tag.endswith("Response") else "<Action>Response"
    if root.tag != expected:
        raise XmlShapeError(f"the root element is <{root.tag}>, expected <{expected}>")
    return _object(root)


@schemathesis.deserializer("text/html")
def deserialize_html(ctx, response):
    return response.content.decode("utf-8")


# The Tencent-style actions, read off the action table by run.sh (stack-tests' `actions tencent`).
TENCENT_ACTIONS = set(os.environ.get("SCHEMA_TENCENT_ACTIONS", "").split())
if not TENCENT_ACTIONS:
    raise RuntimeError("SCHEMA_TENCENT_ACTIONS is empty: run the schema gate with tests/schema/run.sh")


def _tencent_style(case):
    return case.operation.definition.raw.get("x-action", "") in TENCENT_ACTIONS


@schemathesis.check
def tencent_envelope(ctx, response, case):
    """A Tencent-style action answers HTTP 200 with `Content-Type: application/json` exactly."""
    # Only the documented methods reach the function: cargo lambda watch answers a CORS preflight (OPTIONS)
    # itself, and the coverage phase's undocumented methods are checked by schemathesis' own checks.
    if not _tencent_style(case) or case.method.upper() != case.operation.method.upper():
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if response.status_code != 200 or content_type != "application/json":
        raise AssertionError(
            f"A Tencent-style answer must be HTTP 200 with Content-Type exactly application/json; "
            f"got HTTP {response.status_code} with {content_type!r}"
        )
    return None
