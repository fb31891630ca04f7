//! Helpers for the component tests that run in a browser (`wasm-bindgen-test`): mount a view
//! into the page, let its effects run, and read back what it drew.

use leptos::mount::mount_to;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement};

/// A view mounted into a fresh element of the page's body; dropping it unmounts the view.
pub struct Mounted {
    pub root: HtmlElement,
    _handle: Box<dyn std::any::Any>,
}

impl Mounted {
    /// Mounts `view` into a new element appended to the body.
    pub fn new<N: IntoView + 'static>(view: impl FnOnce() -> N + 'static) -> Self {
        let document = gloo::utils::document();
        let root: HtmlElement = document
            .create_element("div")
            .expect("a div can be created")
            .unchecked_into();
        gloo::utils::body()
            .append_child(&root)
            .expect("the body takes a child");
        let handle = mount_to(root.clone(), view);
        Self {
            root,
            _handle: Box::new(handle),
        }
    }

    /// The first element matching `selector`.
    pub fn find(&self, selector: &str) -> Element {
        self.root
            .query_selector(selector)
            .expect("a valid selector")
            .unwrap_or_else(|| panic!("nothing matches {selector}"))
    }

    /// The text of the first element matching `selector`.
    pub fn text(&self, selector: &str) -> String {
        self.find(selector).text_content().unwrap_or_default()
    }

    /// The class attribute of every child of the first element matching `selector`.
    pub fn child_classes(&self, selector: &str) -> Vec<String> {
        let children = self.find(selector).children();
        (0..children.length())
            .filter_map(|i| children.item(i))
            .map(|child| child.class_name())
            .collect()
    }
}

/// Lets the reactive system run the effects of the changes made so far.
pub async fn settle() {
    for _ in 0..3 {
        leptos::task::tick().await;
    }
}
