//! Compiles every `.proto` under `proto/` into Rust and writes one descriptor set,
//! which servers register for gRPC reflection. `protoc` comes from the
//! `protoc-bin-vendored` crate so a fresh machine needs nothing installed.

use std::{env, error::Error, fs, path::PathBuf};

fn collect(dir: &PathBuf, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            out.push(path);
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn Error>> {
    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let mut protos = Vec::new();
    collect(&root, &mut protos)?;
    protos.sort();
    println!("cargo:rerun-if-changed={}", root.display());
    for p in &protos {
        println!("cargo:rerun-if-changed={}", p.display());
    }

    let out = PathBuf::from(env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    // `prost::Name` gives each event its full type name, used as `ce_type`.
    config.enable_type_names();
    let includes = [root.clone(), protoc_bin_vendored::include_path()?];
    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("iop_descriptor.bin"))
        .compile_with_config(config, &protos, &includes)?;
    Ok(())
}
