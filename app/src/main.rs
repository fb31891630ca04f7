//! Mounts the explainer. A panic is shown on the page instead of leaving it dead and blank.

fn main() {
    actprm_app::run_static_constructors();
    std::panic::set_hook(Box::new(|info| {
        let message = info.to_string();
        gloo::console::error!(message.clone());
        if let Some(element) = gloo::utils::document().get_element_by_id("fatal") {
            element.set_text_content(Some(&format!(
                "The page stopped: {message}. Reload to start again."
            )));
            let _ = element.set_attribute("class", "shown");
        }
    }));
    leptos::mount::mount_to_body(actprm_app::App);
}
