use clap::Parser;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sift::model::tune_allocator();
    sift::model::init_threads();
    let cli = sift::cli::Cli::parse();
    match sift::cli::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("sift: {e:#}");
            std::process::exit(2);
        }
    }
}
