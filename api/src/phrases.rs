//! The phrases that messages take as arguments, in both languages.

/// A phrase that messages take as an argument (what a parameter should be, what a signature lacks), in
/// both languages: typed where it is written, so that no translation looks an English string up.
#[derive(Clone, Copy, Debug, Eq)]
pub struct Phrase {
    pub en: &'static str,
    pub zh: &'static str,
}

impl Phrase {
    pub const fn new(en: &'static str, zh: &'static str) -> Self {
        Self { en, zh }
    }
}

/// A phrase is known by its English: the same words are the same phrase, whatever was written for Chinese
/// (a phrase made from a bare string carries its English twice).
impl PartialEq for Phrase {
    fn eq(&self, other: &Self) -> bool {
        self.en == other.en
    }
}

/// A name or a format, which both languages write alike.
impl From<&'static str> for Phrase {
    fn from(same: &'static str) -> Self {
        Self::new(same, same)
    }
}

pub const ZERO_OR_ONE: Phrase = Phrase::new("0 or 1", "0 或 1");
pub const EN_OR_ZH: Phrase = Phrase::new("en or zh", " en 或 zh");
pub const JSON_OR_XML: Phrase = Phrase::new("JSON or XML", " JSON 或 XML");
pub const TRUE_OR_FALSE: Phrase = Phrase::new("true or false", " true 或 false");
pub const SIX_DIGITS: Phrase = Phrase::new("6 digits", " 6 位数字");
pub const AN_EMAIL_ADDRESS: Phrase = Phrase::new("a valid email address", "一个有效的邮箱地址");
pub const ONE_EMAIL_ADDRESS: Phrase = Phrase::new("one valid email address", "一个有效的邮箱地址");
pub const AN_E164_NUMBER: Phrase = Phrase::new(
    "a mobile number in E.164 format, such as +8613800138000",
    " E.164 格式的手机号码，例如 +8613800138000",
);
pub const A_CONTENT_TYPE: Phrase = Phrase::new(
    "application/json or application/x-www-form-urlencoded",
    " application/json 或 application/x-www-form-urlencoded",
);
pub const A_CONTACT_TYPE: Phrase = Phrase::new(
    "1 (mobile number) or 2 (email address)",
    " 1（手机号码）或 2（邮箱地址）",
);
pub const A_CONTACT_TYPE_OR_ALL: Phrase = Phrase::new(
    "0 (all), 1 (mobile number) or 2 (email address)",
    " 0（全部）、1（手机号码）或 2（邮箱地址）",
);
pub const DOMAIN_NAMES: Phrase = Phrase::new(
    "domain names such as example.com or 例子.中国, separated by commas",
    "以逗号分隔的域名，例如 example.com 或 例子.中国",
);
pub const AT_MOST_100_DOMAINS: Phrase = Phrase::new(
    "at most 100 domain names, separated by commas",
    "最多 100 个以逗号分隔的域名",
);
pub const EMAIL_OR_CONTACT: Phrase = Phrase::new(
    "given alone: Email, or Type and Code",
    "单独给出：Email，或者 Type 和 Code",
);
pub const AN_IP_ADDRESS: Phrase = Phrase::new("an IPv4 or IPv6 address", "一个 IPv4 或 IPv6 地址");
pub const A_NEXT_TOKEN: Phrase = Phrase::new(
    "a NextToken from an earlier answer",
    "此前应答中返回的 NextToken",
);
pub const FROM_1_TO_200: Phrase = Phrase::new("an integer from 1 to 200", " 1 到 200 之间的整数");
pub const FROM_1_TO_500: Phrase = Phrase::new("an integer from 1 to 500", " 1 到 500 之间的整数");
pub const FROM_0_TO_U32_MAX: Phrase = Phrase::new(
    "an integer from 0 to 4294967295",
    " 0 到 4294967295 之间的整数",
);
pub const AT_LEAST_1: Phrase = Phrase::new("an integer of at least 1", "不小于 1 的整数");
pub const EPOCH_MS: Phrase = Phrase::new("epoch milliseconds", "以毫秒计的 Unix 时间戳");
pub const NOT_ACS3: Phrase = Phrase::new(
    "Authorization is not ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=…",
    "Authorization 不是 ACS3-HMAC-SHA256 Credential=…,SignedHeaders=…,Signature=… 的格式",
);
pub const NOT_TC3: Phrase = Phrase::new("Authorization is not TC3-HMAC-SHA256 Credential=…/<date>/<service>/tc3_request, SignedHeaders=…, Signature=…", "Authorization 不是 TC3-HMAC-SHA256 Credential=…/<date>/<service>/tc3_request, SignedHeaders=…, Signature=… 的格式");
pub const NO_SCHEME: Phrase = Phrase::new(
    "Authorization names no scheme this service accepts",
    "Authorization 中的签名方法不受支持",
);
pub const NOT_HMAC_SHA1: Phrase = Phrase::new(
    "SignatureMethod must be HMAC-SHA1",
    "SignatureMethod 必须为 HMAC-SHA1",
);
pub const NOT_VERSION_1: Phrase = Phrase::new(
    "SignatureVersion must be 1.0",
    "SignatureVersion 必须为 1.0",
);
pub const TC3_SIGNED_HEADERS: Phrase = Phrase::new(
    "SignedHeaders must include content-type and host",
    "SignedHeaders 必须包含 content-type 和 host",
);
pub const ACS3_SIGNED_HEADERS: Phrase = Phrase::new(
    "SignedHeaders must include host, x-acs-action, x-acs-date, x-acs-signature-nonce, and content-type when the request has one",
    "SignedHeaders 必须包含 host、x-acs-action、x-acs-date、x-acs-signature-nonce，请求带有 content-type 时也须包含它",
);
pub const NOT_TENCENT_V1_METHOD: Phrase = Phrase::new(
    "SignatureMethod must be HmacSHA1 or HmacSHA256",
    "SignatureMethod 必须为 HmacSHA1 或 HmacSHA256",
);
pub const UNSIGNED_PAYLOAD: Phrase = Phrase::new(
    "an unsigned payload (X-TC-Content-SHA256: UNSIGNED-PAYLOAD) is not accepted",
    "不接受未签名的请求体（X-TC-Content-SHA256: UNSIGNED-PAYLOAD）",
);
pub const CREDENTIAL_DATE: Phrase = Phrase::new(
    "the date of the Credential is not the UTC date of X-TC-Timestamp",
    "Credential 中的日期不是 X-TC-Timestamp 的 UTC 日期",
);
pub const UNREADABLE_PARAMETERS: Phrase =
    Phrase::new("the parameters cannot be read", "无法读取请求参数");

/// All of them (the test that no Chinese message carries English reads them).
pub const ALL: &[Phrase] = &[
    EMAIL_OR_CONTACT,
    ZERO_OR_ONE,
    EN_OR_ZH,
    JSON_OR_XML,
    TRUE_OR_FALSE,
    SIX_DIGITS,
    AN_EMAIL_ADDRESS,
    ONE_EMAIL_ADDRESS,
    AN_E164_NUMBER,
    A_CONTENT_TYPE,
    A_CONTACT_TYPE,
    A_CONTACT_TYPE_OR_ALL,
    AN_IP_ADDRESS,
    A_NEXT_TOKEN,
    FROM_1_TO_200,
    FROM_1_TO_500,
    FROM_0_TO_U32_MAX,
    AT_LEAST_1,
    EPOCH_MS,
    NOT_ACS3,
    NOT_TC3,
    NO_SCHEME,
    NOT_HMAC_SHA1,
    NOT_VERSION_1,
    TC3_SIGNED_HEADERS,
    ACS3_SIGNED_HEADERS,
    NOT_TENCENT_V1_METHOD,
    UNSIGNED_PAYLOAD,
    CREDENTIAL_DATE,
    UNREADABLE_PARAMETERS,
];
