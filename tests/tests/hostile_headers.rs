//! Issue 20, defect 0: headers that made `lambda_http`'s conversion panic (`Lambda panicked: called
//! Result::unwrap()`, a bare 500 locally, a dead instance and a 502 deployed) get an answer in the vendor's
//! shape, from the front door and from a per-action function alike. Sent by hand over TCP, so that nothing
//! between the test and the stack mends the headers first.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use stack_tests::env;

/// `POST path` with `headers` (each `Name: value\r\n`) and a JSON body; the status and the whole answer.
fn post(path: &str, headers: &str) -> (u16, String) {
    let addr = format!("{}:{}", env("BIND_HOST"), env("LAMBDA_PORT"));
    let mut stream = TcpStream::connect(&addr).expect("the local stack listens");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let body = r#"{"Email": "someone@example.com"}"#;
    let request = format!(
        "POST {path} HTTP/1.1\r\n{headers}X-User-Id: alice\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, answer)
}

fn host() -> String {
    format!("Host: {}:{}\r\n", env("BIND_HOST"), env("LAMBDA_PORT"))
}

fn assert_vendor_answer(what: &str, (status, answer): (u16, String)) {
    assert!(
        !answer.contains("panicked") && !answer.contains("unwrap"),
        "{what}: {answer}"
    );
    assert!((200..500).contains(&status), "{what}: {status} {answer}");
    assert!(
        answer.contains("\"Code\""),
        "{what}: no vendor code: {answer}"
    );
}

#[test]
fn x_forwarded_proto_1_at_the_front_door_is_answered_as_unsigned() {
    let answer = post("/", &format!("{}X-Forwarded-Proto: 1\r\n", host()));
    assert_eq!(answer.0, 400, "{}", answer.1);
    assert!(answer.1.contains("MissingParameter"), "{}", answer.1);
    assert_vendor_answer("X-Forwarded-Proto: 1 on POST /", answer);
}

#[test]
fn a_scheme_with_a_space_on_a_per_action_url_reaches_the_action() {
    let answer = post(
        "/lambda-url/query-email-verification/",
        &format!("{}X-Forwarded-Proto: a b\r\n", host()),
    );
    assert_vendor_answer("X-Forwarded-Proto: a b", answer);
}

#[test]
fn a_host_with_a_space_reaches_the_action() {
    let answer = post("/lambda-url/query-email-verification/", "Host: a b\r\n");
    assert_vendor_answer("Host: a b", answer);
}
