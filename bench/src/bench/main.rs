//! `make bench`: every figure of issue 4 in one run, printed as a table and written to `BENCHMARKS.md`
//! with the machine and the command lines that produced it.
//!
//! - zip size of every function (`target/lambda/<function>/bootstrap.zip`, from `local/build.sh`);
//! - cold start: process start to the first poll of a Runtime API stand-in, median of many starts, next to
//!   a hello-world `lambda_runtime` binary and a Python/boto3 set-up measured in the same rounds;
//! - warm latency of each action in this process against DynamoDB Local and the SES emulator;
//! - the handler's own CPU time per request against the in-memory store and a mailer that sends nothing;
//! - DynamoDB and SES requests per action, counted by an SDK interceptor, for 1 address and for 100;
//! - wall time of a 100-address Submit against a store and a mailer that wait a fixed time per call;
//! - the signed front door (`functions/front-door`): its zip and cold start with the others; its added CPU
//!   time and latency per request against a per-action function on the same action and store, in each of
//!   its three signature schemes; and each action's DynamoDB requests through it; what a refused unsigned
//!   request costs it (CPU time, and no DynamoDB request), and what the caller's rate count shared across
//!   instances adds to an admitted call and costs a throttled one.
//!
//! `--door-only` measures only that last part (needs DynamoDB Local and the SES emulator) and puts it into
//! the front door's section of `BENCHMARKS.md`, leaving the rest of the file as it was.
//!
//! Run by `local/stack.sh bench`, which builds the zips and the host binaries and starts the stack first.

// The in-process stack benchmarks nest many async layers (handler, store, SDK); the default limit is short.
#![recursion_limit = "256"]

mod coldstart;
mod cpu;
mod delay;
mod door;
mod engine;
mod events;
mod first;
mod machine;
mod report;
mod sizes;
mod stack;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

/// What the command line can change.
#[derive(Clone, Debug)]
pub struct Options {
    /// Measured cold starts per binary (after `warmup_starts` unmeasured ones).
    pub starts: usize,
    pub warmup_starts: usize,
    /// Requests per action for warm latency against the local stack.
    pub requests: usize,
    /// Requests per action for the handler's CPU time.
    pub cpu_requests: usize,
    /// The fixed delay per store call and per mail in the concurrency measurement.
    pub delay_ms: u64,
    /// Repetitions of each Submit in the concurrency measurement.
    pub delay_repeats: usize,
    /// Architecture of the zips (`arm64` or `x86_64`), as `local/build.sh` built them.
    pub zip_arch: String,
    /// The host binaries whose cold start is measured (`cargo build --release`).
    pub bin_dir: PathBuf,
    pub out: PathBuf,
    /// Skip the measurements against the local stack (sizes, cold start, CPU and delay only).
    pub no_stack: bool,
    /// Measured first requests after a cold start, per way to DynamoDB (plain and TLS).
    pub first_runs: usize,
    /// Only the first-request measurement, printed (needs DynamoDB Local); writes nothing.
    pub first_only: bool,
    /// Only the front door's defences (refused unsigned requests, the shared caller rate count): put into
    /// the front door's section of `out` in place of the previous ones; the rest of the file is kept.
    pub door_only: bool,
}

impl Options {
    fn parse(mut args: impl Iterator<Item = String>) -> Result<Self, String> {
        let mut o = Options {
            starts: 31,
            warmup_starts: 2,
            requests: 200,
            cpu_requests: 2000,
            delay_ms: 20,
            delay_repeats: 5,
            zip_arch: String::from("arm64"),
            bin_dir: PathBuf::from("target/release"),
            out: PathBuf::from("BENCHMARKS.md"),
            no_stack: false,
            first_runs: 21,
            first_only: false,
            door_only: false,
        };
        while let Some(arg) = args.next() {
            let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
            let number = |v: String, name: &str| {
                v.parse::<usize>()
                    .map_err(|_| format!("{name}: not a number: {v}"))
            };
            match arg.as_str() {
                "--starts" => o.starts = number(value("--starts")?, "--starts")?.max(1),
                "--warmup-starts" => {
                    o.warmup_starts = number(value("--warmup-starts")?, "--warmup-starts")?
                }
                "--requests" => o.requests = number(value("--requests")?, "--requests")?.max(1),
                "--cpu-requests" => {
                    o.cpu_requests = number(value("--cpu-requests")?, "--cpu-requests")?.max(1)
                }
                "--delay-ms" => {
                    o.delay_ms = number(value("--delay-ms")?, "--delay-ms")?.max(1) as u64
                }
                "--delay-repeats" => {
                    o.delay_repeats = number(value("--delay-repeats")?, "--delay-repeats")?.max(1)
                }
                "--zip-arch" => o.zip_arch = value("--zip-arch")?,
                "--bin-dir" => o.bin_dir = PathBuf::from(value("--bin-dir")?),
                "--out" => o.out = PathBuf::from(value("--out")?),
                "--no-stack" => o.no_stack = true,
                "--first-only" => o.first_only = true,
                "--door-only" => o.door_only = true,
                "--first-runs" => {
                    o.first_runs = number(value("--first-runs")?, "--first-runs")?.max(1)
                }
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if !matches!(o.zip_arch.as_str(), "arm64" | "x86_64") {
            return Err(format!(
                "--zip-arch must be arm64 or x86_64, not {}",
                o.zip_arch
            ));
        }
        Ok(o)
    }
}

const USAGE: &str = "usage: bench [--starts N] [--warmup-starts N] [--requests N] [--cpu-requests N] [--delay-ms N] \
[--delay-repeats N] [--first-runs N] [--first-only] [--door-only] [--zip-arch arm64|x86_64] [--bin-dir DIR] [--out FILE] [--no-stack]
Run it through `make bench` (local/stack.sh bench): that builds the zips and binaries and starts the stack.";

/// Logs go where the functions send theirs (JSON lines, the same fields), but into a sink: formatting them
/// is part of the handler's cost, printing them is not part of this report.
fn install_log_sink() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(true)
        .with_span_list(false)
        .with_target(false)
        .with_writer(std::io::sink)
        .try_init();
}

/// The sections other tools keep in the same file, each between `<!-- <tool>: begin -->` and
/// `<!-- <tool>: end -->` lines (`make fuzz` writes one): kept as they are, after this report.
fn others_sections(old: &str) -> String {
    let mut kept = String::new();
    let mut open: Option<String> = None;
    for line in old.lines() {
        let t = line.trim();
        match &open {
            None => {
                if let Some(name) = t
                    .strip_prefix("<!-- ")
                    .and_then(|r| r.strip_suffix(": begin -->"))
                {
                    open = Some(format!("<!-- {name}: end -->"));
                    kept.push('\n');
                    kept.push_str(line);
                    kept.push('\n');
                }
            }
            Some(end) => {
                kept.push_str(line);
                kept.push('\n');
                if t == end {
                    open = None;
                }
            }
        }
    }
    // A section whose end line is missing is kept to the end of the file, as it was.
    kept
}

fn main() -> ExitCode {
    let opts = match Options::parse(std::env::args().skip(1)) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&opts) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `old` with the front door's defences (from [`report::DEFENCE_START`] to the end of the front door's
/// section) replaced by `text`, or `text` put at the end of that section when it has none yet.
fn splice_defence(old: &str, text: &str) -> Result<String, String> {
    const HEADING: &str = "\n## Front door";
    let start = old
        .find(HEADING)
        .ok_or("no front door section (\"## Front door\") to put the figures in: run the full `make bench` first")?;
    let after = start + HEADING.len();
    let end = old[after..]
        .find("\n## ")
        .map_or(old.len(), |i| after + i + 1);
    let from = old[start..end]
        .find(report::DEFENCE_START)
        .map_or(end, |i| start + i);
    Ok(format!(
        "{}{}\n\n{}",
        &old[..from],
        text.trim_end(),
        &old[end..]
    ))
}

/// `--door-only`: the defences' figures, measured and put into the front door's section of `opts.out`.
fn door_only(opts: &Options) -> Result<(), String> {
    install_log_sink();
    eprintln!(
        "==> front door CPU time: {} requests per path and per unsigned kind",
        opts.cpu_requests
    );
    let door_cpu = door::cpu(opts)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!("==> front door against the local stack: unsigned requests and the shared caller rate count, {} requests each", opts.requests);
    let defence = runtime.block_on(stack::defence(opts))?;
    let machine = machine::describe();
    let mut text = String::new();
    report::defence(&mut text, opts, &door_cpu, Some(&defence));
    text.push_str(&format!(
        "\nThese two parts were measured on their own, {}, commit {}, {} ({} cores), by `{}`; the rest of the file \
by the run described at the top.\n",
        machine.date,
        machine.commit,
        machine.cpu,
        machine.cores,
        report::commands().join("` then `")
    ));
    println!("{text}");
    let old = std::fs::read_to_string(&opts.out)
        .map_err(|e| format!("reading {}: {e}", opts.out.display()))?;
    std::fs::write(&opts.out, splice_defence(&old, &text)?)
        .map_err(|e| format!("writing {}: {e}", opts.out.display()))?;
    eprintln!(
        "==> wrote the front door's defences into {}",
        opts.out.display()
    );
    Ok(())
}

fn run(opts: &Options) -> Result<(), String> {
    if opts.first_only {
        println!("{:#?}", first::measure(opts));
        return Ok(());
    }
    if opts.door_only {
        return door_only(opts);
    }
    let functions = sizes::functions()?;
    let machine = machine::describe();
    eprintln!(
        "==> bench: {} functions: {}",
        functions.len(),
        functions.join(", ")
    );

    eprintln!("==> zip sizes ({})", opts.zip_arch);
    let sizes = sizes::measure(&functions, &opts.zip_arch)?;

    // Cold starts first, while this process runs no threads of its own that could compete.
    eprintln!(
        "==> cold starts: {} measured (+{} warm-up) per binary, round robin",
        opts.starts, opts.warmup_starts
    );
    let cold = coldstart::measure(opts, &functions)?;
    // The first request after a cold start goes to DynamoDB Local: only with the stack.
    let first = if opts.no_stack {
        None
    } else {
        eprintln!(
            "==> first request after a cold start ({}): {} runs per way to DynamoDB (plain, TLS)",
            first::FUNCTION,
            opts.first_runs
        );
        Some(first::measure(opts))
    };

    install_log_sink();
    eprintln!(
        "==> handler CPU time: {} requests per action, in-memory store",
        opts.cpu_requests
    );
    let cpu = cpu::measure(opts)?;
    eprintln!("==> front door CPU time: {} along the per-action path and the front door's three schemes, {} requests each", door::COMPARED.name(), opts.cpu_requests);
    let door_cpu = door::cpu(opts)?;
    eprintln!(
        "==> template engine: built-ins compiled, {} parsed, a Link mail rendered",
        engine::EXAMPLE
    );
    let engine = engine::measure(opts.cpu_requests.min(500));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    eprintln!(
        "==> concurrency: Submit of 1 and of 100 addresses, {} ms per store call and per mail",
        opts.delay_ms
    );
    let delay = runtime.block_on(delay::measure(opts))?;

    let stack = if opts.no_stack {
        None
    } else {
        eprintln!("==> AWS requests per action and warm latency ({} requests per action) against the local stack", opts.requests);
        Some(runtime.block_on(stack::measure(opts))?)
    };
    let defence = if opts.no_stack {
        None
    } else {
        eprintln!("==> front door: unsigned requests and the shared caller rate count against the local stack");
        Some(runtime.block_on(stack::defence(opts))?)
    };

    let report = report::Report {
        opts,
        machine,
        sizes,
        cold,
        first,
        cpu,
        door_cpu,
        engine,
        delay,
        stack,
        defence,
    };
    let text = report.markdown();
    println!("{text}");
    let kept = std::fs::read_to_string(&opts.out)
        .map(|old| others_sections(&old))
        .unwrap_or_default();
    std::fs::write(&opts.out, format!("{text}{kept}"))
        .map_err(|e| format!("writing {}: {e}", opts.out.display()))?;
    eprintln!("==> wrote {}", opts.out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{others_sections, splice_defence};

    #[test]
    fn the_defences_replace_their_old_text_in_the_front_door_section_only() {
        let start = crate::report::DEFENCE_START;
        let old = format!(
            "# B\n\n## Front door\n\nzip\n\n{start} old\n\nold rate\n\n## AWS requests\n\nrest\n"
        );
        assert_eq!(
            splice_defence(&old, &format!("{start} new\n")).unwrap(),
            format!("# B\n\n## Front door\n\nzip\n\n{start} new\n\n## AWS requests\n\nrest\n")
        );
        let first = "# B\n\n## Front door\n\nzip\n\n## AWS requests\n";
        assert_eq!(
            splice_defence(first, &format!("{start} new\n")).unwrap(),
            format!("# B\n\n## Front door\n\nzip\n\n{start} new\n\n## AWS requests\n")
        );
        assert!(splice_defence("# B\n", "x").is_err());
    }

    #[test]
    fn other_tools_sections_are_kept_and_the_old_report_is_not() {
        let old = "# Benchmarks\n\nold figures\n\n<!-- make fuzz: begin -->\n## Fuzzing\n\n| a | 0 |\n<!-- make fuzz: end -->\n\nstray\n";
        assert_eq!(
            others_sections(old),
            "\n<!-- make fuzz: begin -->\n## Fuzzing\n\n| a | 0 |\n<!-- make fuzz: end -->\n"
        );
        assert_eq!(others_sections("# Benchmarks\n\nno sections\n"), "");
        assert_eq!(
            others_sections("x\n<!-- t: begin -->\ncut off"),
            "\n<!-- t: begin -->\ncut off\n"
        );
    }
}
