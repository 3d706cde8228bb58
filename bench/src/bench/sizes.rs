//! The functions of the workspace and the size of their zips.

use std::path::{Path, PathBuf};

/// Every function: the folders of `functions/`, each a package with a binary of the same name.
pub fn functions() -> Result<Vec<String>, String> {
    let dir = std::fs::read_dir("functions")
        .map_err(|e| format!("functions/: {e} (run from the repository root)"))?;
    let mut names: Vec<String> = dir
        .filter_map(Result::ok)
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(String::from))
        .collect();
    names.sort();
    if names.is_empty() {
        return Err("no function under functions/".into());
    }
    Ok(names)
}

pub fn rust_target(arch: &str) -> &'static str {
    match arch {
        "x86_64" => "x86_64-unknown-linux-gnu",
        _ => "aarch64-unknown-linux-gnu",
    }
}

#[derive(Clone, Debug)]
pub struct Size {
    pub name: String,
    pub zip: Option<u64>,
    /// The binary the zip holds, unzipped.
    pub binary: Option<u64>,
    /// The binary's architecture from its ELF header, when it is not the one asked for.
    pub arch_mismatch: Option<String>,
}

/// `e_machine` of an ELF file.
fn elf_arch(path: &Path) -> Option<&'static str> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() < 20 || &bytes[..4] != b"\x7fELF" {
        return None;
    }
    Some(match u16::from_le_bytes([bytes[18], bytes[19]]) {
        0x3e => "x86_64",
        0xb7 => "arm64",
        _ => "other",
    })
}

/// Every function's zip and the hello-world baseline's (`hello`), from `target/lambda/<name>/bootstrap.zip`.
pub fn measure(functions: &[String], arch: &str) -> Result<Vec<Size>, String> {
    let target = rust_target(arch);
    let mut out = Vec::new();
    for name in functions.iter().map(String::as_str).chain(["hello"]) {
        let zip_path = PathBuf::from("target/lambda")
            .join(name)
            .join("bootstrap.zip");
        let binary_path = PathBuf::from("target")
            .join(target)
            .join("release")
            .join(name);
        let zip = std::fs::metadata(&zip_path).ok().map(|m| m.len());
        let binary = std::fs::metadata(&binary_path).ok().map(|m| m.len());
        let arch_mismatch = elf_arch(&binary_path)
            .filter(|a| *a != arch)
            .map(String::from);
        if zip.is_none() && name != "hello" {
            return Err(format!(
                "{} is missing: run `bash local/build.sh` (make build) first",
                zip_path.display()
            ));
        }
        out.push(Size {
            name: name.to_string(),
            zip,
            binary,
            arch_mismatch,
        });
    }
    Ok(out)
}
