//! sift: curate instruction-tuning data.

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    sift::model::tune_allocator();
    sift::model::init_threads();
}
