//! `make template`: rewrites the generated parts of template.yaml from the action table
//! (stack_tests::template). `--check` only says whether the file is up to date (exit 1 when not).

fn main() {
    let path = stack_tests::template::path();
    let current = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
    let generated = stack_tests::template::generate(&current).unwrap_or_else(|e| fail(&e));
    let check = std::env::args().any(|a| a == "--check");
    if generated == current {
        println!("template.yaml is up to date with the action table");
    } else if check {
        fail("template.yaml is not what the action table makes: run make template");
    } else {
        std::fs::write(&path, generated)
            .unwrap_or_else(|e| fail(&format!("{}: {e}", path.display())));
        println!("template.yaml: its generated parts were rewritten from the action table");
    }
}

fn fail(why: &str) -> ! {
    eprintln!("gen-template: {why}");
    std::process::exit(1)
}
