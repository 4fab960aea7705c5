//! sift: curate instruction-tuning data.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sift::model::init_threads();
}
