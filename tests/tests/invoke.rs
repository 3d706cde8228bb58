//! `cargo lambda invoke` as a new user types it (issue 16): with no address flag it sends to [::1], and the
//! stack listens on 127.0.0.1; `make run` relays [::1] to it (local/relay.py), loopback only.

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is set by local/env.sh"))
}

#[test]
fn the_plain_cargo_lambda_invoke_reaches_the_local_stack() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut command = std::process::Command::new("cargo");
    command.current_dir(&root).args([
        "lambda",
        "invoke",
        "ses-events",
        "--data-file",
        "events/ses-events-delivery.json",
        "--output-format",
        "json",
    ]);
    // cargo lambda invoke's own default port is 9000, the stack's default; another port is named, the
    // address never is.
    let port = env("LAMBDA_PORT");
    if port != "9000" {
        command.args(["--invoke-port", &port]);
    }
    let out = command.output().expect("cargo lambda invoke runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert_eq!(answer["addresses"], 1, "{answer}");
}
