//! A real browser for the dashboard tests: chromedriver on a free port driving headless
//! Chromium with a new empty profile, through the WebDriver protocol (`fantoccini`). Both die
//! with the test (parent-death signal, and killed with their children on drop).

use std::future::Future;
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};

use crate::services::{free_port, kill_tree};
use crate::util::require_tool;

pub struct Browser {
    driver: Child,
    _profile: tempfile::TempDir,
    rt: tokio::runtime::Runtime,
    pub client: Option<Client>,
}

/// The flags this machine's Chromium needs on a closed network (without them it stalls
/// trying to reach Google's services).
const FLAGS: [&str; 9] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1700",
];

impl Browser {
    /// `None` (the test skips) when Chromium or chromedriver is missing; under CI=true that
    /// fails the test instead.
    pub fn start() -> Option<Self> {
        if !require_tool("chromium") || !require_tool("chromedriver") {
            return None;
        }
        let port = free_port();
        let mut cmd = Command::new("chromedriver");
        cmd.arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // SAFETY: only prctl in the forked child before exec.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let driver = cmd.spawn().expect("start chromedriver");
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.path().display()));
        let caps = serde_json::json!({
            "browserName": "chrome",
            "goog:chromeOptions": { "args": args, "binary": "/usr/bin/chromium" }
        });
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt
            .block_on(
                ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                    .capabilities(caps.as_object().unwrap().clone())
                    .connect(&format!("http://127.0.0.1:{port}")),
            )
            .expect("a WebDriver session with headless Chromium");
        Some(Self {
            driver,
            _profile: profile,
            rt,
            client: Some(client),
        })
    }

    pub fn client(&self) -> &Client {
        self.client.as_ref().unwrap()
    }

    pub fn run<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if let Some(c) = self.client.take() {
            let _ = self
                .rt
                .block_on(async { tokio::time::timeout(Duration::from_secs(10), c.close()).await });
        }
        kill_tree(self.driver.id());
        let _ = self.driver.wait();
    }
}
