use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sift::model::tune_allocator();
    sift::model::init_threads();
    let cli = sift::cli::Cli::parse();
    if cli.command.is_some() || cli.print_config {
        // Commands (and `--print-config`) print to pipes: a reader that goes away (`sift check
        // FILE | head -1`) ends the output quietly with SIGPIPE (exit 141), as for other Unix
        // tools, instead of a panic or a "Broken pipe" message.
        // Acknowledged changes are journaled before they are reported, so none is lost. The TUI
        // keeps SIGPIPE ignored and exits through its own loop.
        // SAFETY: setting a signal disposition at startup, before any thread is spawned.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    match sift::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            use std::io::Write;
            // A closed stderr (the terminal went away) must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "sift: {}", sift::terminal_text::visible(&format!("{e:#}")));
            std::process::exit(2);
        }
    }
}
