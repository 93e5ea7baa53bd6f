//! A plain static file server, as GitHub Pages serves a project site: the files of one folder
//! under a path prefix (`/easel/`), `404.html` with status 404 for any path that names no
//! file, nothing else — no relay, no API, no rewrites. tower-http's `ServeDir` does it.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;

use axum::Router;
use tower_http::services::{ServeDir, ServeFile};

pub struct StaticHost {
    addr: SocketAddr,
    prefix: String,
    // The server's runtime lives on its own thread and stops with the test process.
    _thread: std::thread::JoinHandle<()>,
}

impl StaticHost {
    /// A free port on loopback, taken now so a caller can name the origin (say, in a relay's
    /// CORS allowlist) before [`StaticHost::serve`] starts answering on it.
    pub fn bind() -> TcpListener {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        listener
    }

    /// Serves `dir` under `prefix` (`/easel/`, or `/` for a site at the host's root) on
    /// `listener`.
    pub fn serve(listener: TcpListener, dir: &Path, prefix: &str) -> StaticHost {
        let addr = listener.local_addr().expect("listener address");
        let site = ServeDir::new(dir).not_found_service(ServeFile::new(dir.join("404.html")));
        // axum refuses to nest at the root: there the site is the fallback for every path.
        let router = match prefix.trim_end_matches('/') {
            "" => Router::new().fallback_service(site),
            nested => Router::new().nest_service(nested, site),
        };
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the static host");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
                axum::serve(listener, router).await.expect("static host");
            });
        });
        StaticHost {
            addr,
            prefix: prefix.to_owned(),
            _thread: thread,
        }
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>`.
    pub fn origin(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// A URL under the prefix: `at("gallery")` → `http://127.0.0.1:<port>/easel/gallery`.
    pub fn at(&self, path: &str) -> String {
        format!(
            "{}{}{}",
            self.origin(),
            self.prefix,
            path.trim_start_matches('/')
        )
    }
}
