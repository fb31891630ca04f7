//! Mounts the ActPRM web app.

fn main() {
    leptos::mount::mount_to_body(actprm_app::App);
}
