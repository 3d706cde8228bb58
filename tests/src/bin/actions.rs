//! The action table, for the scripts (tests/schema/run.sh, local/load.sh): one action a line.
//!
//!   actions             <function> <Action> <style> <routes>, tab-separated (routes: `POST`, `GET,POST`,
//!                       `POST,GET /verify-email`)
//!   actions functions   the functions' names (`submit-email-verification`)
//!   actions tencent     the names of the Tencent-style actions

use api::actions::ALL;
use api::render::Style;
use api::routes::Route;

fn main() {
    let what = std::env::args().nth(1).unwrap_or_default();
    for info in ALL.iter() {
        match what.as_str() {
            "functions" => println!("{}", info.function_name()),
            "tencent" => {
                if info.style == Style::Tencent {
                    println!("{}", info.name);
                }
            }
            "" => {
                let routes: Vec<String> = info
                    .routes
                    .iter()
                    .map(|r| match r {
                        Route::Api(m) => m.as_str().to_string(),
                        Route::Public(p) => format!("{} {}", p.method.as_str(), p.path),
                    })
                    .collect();
                let style = match info.style {
                    Style::Alibaba => "alibaba",
                    Style::Tencent => "tencent",
                };
                println!(
                    "{}\t{}\t{style}\t{}",
                    info.function_name(),
                    info.name,
                    routes.join(",")
                );
            }
            other => {
                eprintln!("actions: unknown argument {other:?} (none, functions or tencent)");
                std::process::exit(2);
            }
        }
    }
}
