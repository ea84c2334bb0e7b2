//! Compiles the touchscreen (`ui/app.slint`) into Rust, with the Chinese translation bundled
//! so the language can be switched at run time without files next to the binary.

fn main() {
    let config = slint_build::CompilerConfiguration::new()
        // The .po file has no msgctxt: one word means the same on every screen.
        .with_default_translation_context(slint_build::DefaultTranslationContext::None)
        .with_bundled_translations("ui/lang")
        // Fonts and images go into the binary as files; decoded at start.
        .embed_resources(slint_build::EmbedResourcesKind::EmbedFiles);
    if let Err(e) = slint_build::compile_with_config("ui/app.slint", config) {
        // One readable line instead of a panic backtrace.
        eprintln!("ui/app.slint: {e}");
        std::process::exit(1);
    }
}
