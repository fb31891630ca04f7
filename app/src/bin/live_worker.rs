//! The web worker that trains the page's live run (`actprm_app::live_worker`); index.html's
//! worker link builds it beside the page. A panic is written to the console before the worker
//! stops.

fn main() {
    #[cfg(target_family = "wasm")]
    {
        use gloo::worker::Registrable;
        std::panic::set_hook(Box::new(|info| {
            gloo::console::error!(format!("the live-training worker stopped: {info}"));
        }));
        actprm_app::live_worker::LiveWorker::registrar().register();
    }
}
