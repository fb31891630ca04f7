//! The web worker that computes for the page (`actprm_app::worker`): live training and the
//! real-text model. index.html's worker link builds it beside the page. A panic is written to
//! the console before the worker stops.

fn main() {
    actprm_app::run_static_constructors();
    #[cfg(target_family = "wasm")]
    {
        use gloo::worker::Registrable;
        std::panic::set_hook(Box::new(|info| {
            gloo::console::error!(format!("the compute worker stopped: {info}"));
        }));
        actprm_app::worker::ComputeWorker::registrar().register();
    }
}
