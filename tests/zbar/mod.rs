//! An independent barcode reader for the tests: zbar's `zbarimg` (Debian `zbar-tools`, which
//! `.ci/run` installs). A missing tool fails the test with what to install.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;

/// The command `name`, after checking it is installed.
pub fn tool(name: &str, package: &str) -> Command {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{name} is missing: install Debian's {package} (.ci/run does) to run these tests"
    );
    Command::new(name)
}

/// Every symbol zbar finds in the image files, as "TYPE:data", sorted.
pub fn decode(images: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for img in images {
        let o = tool("zbarimg", "zbar-tools")
            .args(["-q", "--nodbus"])
            .arg(img)
            .output()
            .unwrap();
        // Exit 4: no symbol found, which the caller's comparison then shows.
        assert!(
            o.status.success() || o.status.code() == Some(4),
            "zbarimg {}: {}",
            img.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        out.extend(
            String::from_utf8(o.stdout)
                .unwrap()
                .lines()
                .map(str::to_string),
        );
    }
    out.sort();
    out
}
