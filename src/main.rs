use easel::App;
use leptos::prelude::*;

fn main() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        easel::show_crash_notice();
    }));
    mount_to_body(App);
}
