//! Issue 19 against the local stack: a caller's own sender and templates in the mails the SES emulator keeps
//! (and the texts the local outbox keeps), the built-in fallback per kind and language, every refusal of
//! `make callers ARGS='put ...'`, the SMS length check, HTML escaping, the preview, the link page's heading
//! and words, `Lang` tags, and the rendered mails in headless Chromium.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{json, Value};
use stack_tests::*;

const SUBMIT: &str = "submit-email-verification";
const SEND_CODE: &str = "send-intl-phone-email-code";
const EVIDENCE: &str = "describe-verification-evidence";

fn file_with(text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("{}.json", unique("brand")));
    std::fs::write(&path, text).unwrap();
    path
}

fn put(caller: &str, doc: &Value) -> (Option<i32>, String, String) {
    let file = file_with(&doc.to_string());
    callers(&["put", "--caller", caller, "--file", file.to_str().unwrap()])
}

fn put_ok(caller: &str, doc: &Value) {
    let (rc, out, err) = put(caller, doc);
    assert_eq!(rc, Some(0), "{out}{err}");
}

/// A caller's brand: its sender, and an English link mail and text of its own. Its name holds `&` and `'`,
/// which HTML must escape and the text must not.
fn brand() -> Value {
    json!({
        "Sender": {"Address": "verify@registrar.example", "Name": "Smith & O'Neil Registrar", "ReplyTo": "help@registrar.example"},
        "Templates": {
            "en": {
                "Link": {
                    "Subject": "Action required: verify {{ email }} for {{ domains|first }}",
                    "Text": "{{ sender_name }} asks you to verify {{ email }} for:\n{% for d in domains %}* {{ d }}\n{% endfor %}Open {{ link }} (valid for {{ valid_for }}).",
                    "Html": "<p id=\"who\">{{ sender_name }}</p><ul>{% for d in domains %}<li>{{ d }}</li>{% endfor %}</ul><a id=\"go\" href=\"{{ link }}\">Verify</a>"
                },
                "Sms": {"Text": "{{ sender_name }}: code {{ code }}, {{ valid_for }}."}
            }
        }
    })
}

fn one_mail(address: &str) -> Mail {
    let mails = mails_to(address);
    assert_eq!(mails.len(), 1, "{mails:#?}");
    mails.into_iter().next().unwrap()
}

fn evidence_of(caller: &str, address: &str) -> Vec<Value> {
    let a = get_query(
        EVIDENCE,
        caller,
        &format!("Email={}", address.replace('+', "%2B")),
    );
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()["Evidence"].as_array().cloned().unwrap_or_default()
}

#[test]
fn a_callers_sender_subject_and_body_are_in_its_mail_escaped_in_html_only() {
    let caller = unique("brand");
    put_ok(&caller, &brand());
    let address = fresh_address();
    let answer = post_json(
        SUBMIT,
        &caller,
        &json!({"Email": address, "Domains": "example.com,bücher.example"}),
    )
    .json();
    assert_eq!(
        answer["SuccessList"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    let mail = one_mail(&address);
    assert_eq!(
        mail.from,
        "\"Smith & O'Neil Registrar\" <verify@registrar.example>"
    );
    assert_eq!(mail.reply_to, ["help@registrar.example"]);
    assert_eq!(
        mail.subject,
        format!(
            "Action required: verify {} for example.com",
            address.to_lowercase()
        )
    );
    assert!(
        mail.text
            .starts_with(&format!("Smith & O'Neil Registrar asks you to verify {} for:\n* example.com\n* bücher.example\n", address.to_lowercase())),
        "{}",
        mail.text
    );
    assert!(mail.text.contains("(valid for 3 days)."), "{}", mail.text);
    assert!(
        mail.html
            .starts_with("<p id=\"who\">Smith &amp; O&#x27;Neil Registrar</p><ul><li>example.com</li><li>bücher.example</li></ul>"),
        "{}",
        mail.html
    );
    // The link works, and the page's heading names the caller's sender.
    let link = link_in(&mail);
    let page = get_url(&link);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body
            .contains("<span id=\"sender\">Smith &amp; O&#x27;Neil Registrar</span>")
            || page
                .body
                .contains("<span id=\"sender\">Smith &#38; O&#39;Neil Registrar</span>"),
        "{}",
        page.body
    );
    let kept = evidence_of(&caller, &address);
    assert_eq!(kept[0]["Template"], "link.en");
    assert!(
        kept[0]["TemplateVersion"]
            .as_str()
            .is_some_and(|v| v.starts_with("caller-")),
        "{kept:?}"
    );
}

#[test]
fn a_kind_or_language_the_caller_did_not_set_falls_back_to_the_builtin_one() {
    let caller = unique("brand-fallback");
    put_ok(&caller, &brand());
    // Chinese: the caller set English only.
    let zh = fresh_address();
    let answer = post_json(SUBMIT, &caller, &json!({"Email": zh, "Lang": "zh-Hans"})).json();
    assert_eq!(
        answer["SuccessList"].as_array().map(Vec::len),
        Some(1),
        "{answer}"
    );
    let mail = one_mail(&zh);
    assert_eq!(mail.subject, "请验证您的邮箱地址");
    assert!(mail.text.contains("请打开下面的链接"), "{}", mail.text);
    // The built-in mail signs with the caller's name, and comes from its sender all the same.
    assert!(
        mail.text.contains("Smith & O'Neil Registrar"),
        "{}",
        mail.text
    );
    assert_eq!(
        mail.from,
        "\"Smith & O'Neil Registrar\" <verify@registrar.example>"
    );
    assert_eq!(evidence_of(&caller, &zh)[0]["TemplateVersion"], "builtin-2");
    // A code by mail: the caller set no Code template.
    let code_to = fresh_address();
    let sent = post_json(SEND_CODE, &caller, &json!({"Type": 2, "Code": code_to})).json();
    assert!(sent["Response"]["Error"].is_null(), "{sent}");
    let mail = one_mail(&code_to);
    assert_eq!(mail.subject, "Your verification code");
    assert!(
        mail.text.contains("It expires in 10 minutes"),
        "{}",
        mail.text
    );
    // A caller without settings: the built-in mail from the stack's sender, no Reply-To.
    let plain = unique("brand-none");
    let other = fresh_address();
    post_json(SUBMIT, &plain, &json!({"Email": other}));
    let mail = one_mail(&other);
    assert_eq!(mail.subject, "Verify your email address");
    assert!(!mail.from.contains("registrar.example"), "{}", mail.from);
    assert!(mail.reply_to.is_empty(), "{:?}", mail.reply_to);
}

#[test]
fn the_callers_text_message_carries_its_words_and_the_code() {
    let caller = unique("brand-sms");
    put_ok(&caller, &brand());
    let phone = fresh_phone();
    let sent = post_json(SEND_CODE, &caller, &json!({"Type": 1, "Code": phone})).json();
    assert!(sent["Response"]["Error"].is_null(), "{sent}");
    let texts = texts_to(&phone);
    assert_eq!(texts.len(), 1, "{texts:?}");
    let code = code_in(&texts[0]);
    assert_eq!(
        texts[0],
        format!("Smith & O'Neil Registrar: code {code}, 10 minutes.")
    );
}

#[test]
fn put_refuses_each_broken_template_naming_the_part_and_stores_nothing() {
    let link = |subject: &str, text: &str, html: &str| json!({"Templates": {"en": {"Link": {"Subject": subject, "Text": text, "Html": html}}}});
    let big = format!("{{{{ link }}}}{}", "x".repeat(64 * 1024));
    let cases = [
        (
            link("Verify", "{{ link ", "<a href=\"{{ link }}\">x</a>"),
            "Templates.en.Link.Text: does not compile",
        ),
        (
            link("Verify", "{{ link }} {{ password }}", "<a href=\"{{ link }}\">x</a>"),
            "Templates.en.Link.Text: uses password, which is not a variable",
        ),
        (
            link("Verify", "Open the link", "<a href=\"{{ link }}\">x</a>"),
            "Templates.en.Link.Text: must use {{ link }}",
        ),
        (
            json!({"Templates": {"en": {"Link": {"Subject": "Verify", "Text": "{{ link }}"}}}}),
            "Templates.en.Link.Html: is required",
        ),
        (
            json!({"Templates": {"zh": {"Code": {"Subject": "验证码", "Html": "{{ code }}"}}}}),
            "Templates.zh.Code.Text: is required",
        ),
        (
            link("Verify", &big, "<a href=\"{{ link }}\">x</a>"),
            "Templates.en.Link.Text: is over 64 KiB",
        ),
        (
            link("Verify", "{{ link }}", "<a href=\"{{ link }}\">{{ email|safe }}</a>"),
            "Templates.en.Link.Html: uses the filter safe",
        ),
        (
            json!({"Templates": {"en": {"Sms": {"Text": format!("{{{{ code }}}} {}", "x".repeat(154))}}}}),
            "Templates.en.Sms.Text: is over one text message when rendered with the longest values: 161 GSM-7 characters, at most 160",
        ),
        (
            json!({"Templates": {"zh": {"Sms": {"Text": format!("您的验证码是 {{{{ code }}}}{}", "。".repeat(58))}}}}),
            "Templates.zh.Sms.Text: is over one text message when rendered with the longest values: 71 UCS-2 characters, at most 70",
        ),
        (
            json!({"Templates": {"en": {"Sms": {"Text": "Your link: {{ link }}"}}}}),
            "Templates.en.Sms.Text: uses link, which a Sms message does not have",
        ),
    ];
    for (doc, expected) in cases {
        let caller = unique("brand-bad");
        let (rc, out, err) = put(&caller, &doc);
        assert_eq!(rc, Some(1), "{expected}: {out}{err}");
        assert!(err.contains(expected), "{expected:?} not in {err}");
        assert!(err.contains("the settings were not stored"), "{err}");
        let (rc, _, err) = callers(&["get", "--caller", &caller]);
        assert_ne!(rc, Some(0), "stored after a refusal: {err}");
    }
    // At its limit a text fits: 160 GSM-7 characters, or 70 UCS-2.
    put_ok(
        &unique("brand-fits"),
        &json!({"Templates": {"en": {"Sms": {"Text": format!("{{{{ code }}}} {}", "x".repeat(153))}}}}),
    );
    put_ok(
        &unique("brand-fits"),
        &json!({"Templates": {"zh": {"Sms": {"Text": format!("您的验证码是 {{{{ code }}}}{}", "。".repeat(57))}}}}),
    );
}

#[test]
fn the_icann_example_is_accepted_unchanged_and_previews_with_the_callers_words() {
    let example = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../examples/icann-registrant-verification.json");
    let caller = unique("brand-icann");
    let (rc, out, err) = callers(&[
        "put",
        "--caller",
        &caller,
        "--file",
        example.to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(0), "{out}{err}");
    let dir = std::env::temp_dir().join(unique("preview"));
    let (rc, out, err) = callers(&[
        "preview",
        "--caller",
        &caller,
        "--kind",
        "Reminder",
        "--lang",
        "zh",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(0), "{out}{err}");
    let html = std::fs::read_to_string(dir.join(format!("{caller}-Reminder-zh.html"))).unwrap();
    let text = std::fs::read_to_string(dir.join(format!("{caller}-Reminder-zh.txt"))).unwrap();
    for part in [&html, &text] {
        for needed in [
            "例子.中国",
            "registrant@example.com",
            "还有 5 天",
            "我们绝不会向您索要密码",
            "clientHold",
        ] {
            assert!(part.contains(needed), "{needed:?} not in {part}");
        }
    }
    assert!(
        text.starts_with("Subject: 提醒：请验证域名联系人信息"),
        "{text}"
    );
    assert!(out.contains("(reminder.zh, caller-"), "{out}");
    // A kind the example does not set previews the built-in one; so does a caller with no settings.
    let (rc, out, err) = callers(&[
        "preview",
        "--caller",
        &caller,
        "--kind",
        "Code",
        "--lang",
        "en",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(0), "{out}{err}");
    assert!(out.contains("(code.en, builtin-2)"), "{out}");
    let code = std::fs::read_to_string(dir.join(format!("{caller}-Code-en.html"))).unwrap();
    assert!(code.contains("042317"), "{code}");
    // A text message previews to a .txt alone.
    let none = unique("brand-none");
    let (rc, out, err) = callers(&[
        "preview",
        "--caller",
        &none,
        "--kind",
        "Sms",
        "--lang",
        "en",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert_eq!(rc, Some(0), "{out}{err}");
    let sms = std::fs::read_to_string(dir.join(format!("{none}-Sms-en.txt"))).unwrap();
    assert_eq!(
        sms,
        "Your verification code is 042317. It expires in 10 minutes."
    );
    assert!(!dir.join(format!("{none}-Sms-en.html")).exists());
}

#[test]
fn lang_takes_language_tags_and_refuses_others_in_both_languages() {
    let caller = unique("brand-lang");
    for (tag, subject) in [
        ("zh-CN", "请验证您的邮箱地址"),
        ("ZH-hans", "请验证您的邮箱地址"),
        ("en-US", "Verify your email address"),
    ] {
        let address = fresh_address();
        let a = post_json(SUBMIT, &caller, &json!({"Email": address, "Lang": tag})).json();
        assert_eq!(
            a["SuccessList"].as_array().map(Vec::len),
            Some(1),
            "{tag}: {a}"
        );
        assert_eq!(one_mail(&address).subject, subject, "{tag}");
    }
    let a = post_json(
        SUBMIT,
        &caller,
        &json!({"Email": fresh_address(), "Lang": "fr"}),
    );
    assert_eq!(a.status, 400, "{}", a.body);
    let v = a.json();
    assert_eq!(v["Code"], "ParameterIllegal");
    let message = v["Message"].as_str().unwrap();
    assert!(
        message.contains("expected en or zh") && message.contains("应为 en 或 zh"),
        "{message}"
    );
}

#[test]
fn the_link_page_says_a_cut_link_is_incomplete_in_the_mails_language() {
    let address = fresh_address();
    let caller = unique("brand-page");
    post_json(SUBMIT, &caller, &json!({"Email": address, "Lang": "zh"}));
    let link = link_in(&one_mail(&address));
    // The link as a mail client that broke it over two lines would open it: cut inside the token.
    let cut = &link[..link.find("Token=").unwrap() + 6 + 30];
    for (url, lang) in [
        (cut.to_string(), "en"),
        (
            link.replacen(&token_of(&link), &token_of(&link)[..30], 1),
            "zh",
        ),
    ] {
        let page = get_url(&url);
        assert_eq!(page.status, 400, "{url}: {}", page.body);
        assert!(
            !page.body.contains("hexadecimal") && !page.body.contains("十六进制"),
            "{}",
            page.body
        );
        match lang {
            "zh" => assert!(
                page.body.contains("此链接不完整") && page.body.contains("lang=\"zh\""),
                "{}",
                page.body
            ),
            _ => assert!(
                page.body.contains("This link is incomplete"),
                "{}",
                page.body
            ),
        }
    }
}

/// Issue 19, item 4: every built-in mail and the ICANN example, rendered by the preview, in headless Chromium
/// at 375 px: the link (or the code) is there, nothing overflows, and Chinese is drawn in a CJK font.
#[test]
fn the_previews_pass_the_browser_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::temp_dir().join(unique("browser"));
    let example = root.join("examples/icann-registrant-verification.json");
    let none = unique("builtin");
    let mut files = Vec::new();
    for lang in ["en", "zh"] {
        for kind in ["Link", "Reminder", "Code"] {
            let (rc, out, err) = callers(&[
                "preview",
                "--caller",
                &none,
                "--kind",
                kind,
                "--lang",
                lang,
                "--out",
                dir.to_str().unwrap(),
            ]);
            assert_eq!(rc, Some(0), "{out}{err}");
            files.push(dir.join(format!("{none}-{kind}-{lang}.html")));
        }
        for kind in ["Link", "Reminder"] {
            let (rc, out, err) = callers(&[
                "preview",
                "--file",
                example.to_str().unwrap(),
                "--kind",
                kind,
                "--lang",
                lang,
                "--out",
                dir.to_str().unwrap(),
            ]);
            assert_eq!(rc, Some(0), "{out}{err}");
            files.push(dir.join(format!("document-{kind}-{lang}.html")));
        }
    }
    let shots = dir.join("shots");
    let out = Command::new("node")
        .env("BROWSER_TOOLS_DIR", root.join(".tools/browser"))
        .arg(root.join("tests/browser/check_mail.mjs"))
        .arg("--shots")
        .arg(&shots)
        .args(&files)
        .output()
        .expect("node runs (make install installs it with the browser)");
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{printed}");
    assert_eq!(
        printed.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len(),
        "{printed}"
    );
}
