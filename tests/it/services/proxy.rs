//! A TCP forwarder between dxbackup and a server: pulling its cable is a network that dies
//! mid-transfer while the server keeps its data (moto keeps everything in memory, so killing
//! it would lose the very target the test wants to check).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The connections open now, by number: both ends of each, kept for `cut()` until both
/// directions have ended (keeping every one forever ran out of descriptors in a long test).
type Open = Arc<Mutex<BTreeMap<u64, Vec<TcpStream>>>>;

/// A TCP forwarder to `127.0.0.1:upstream`. `cut()` breaks every open connection and refuses
/// new ones, as a dead network would; `restore()` plugs it back in.
pub struct Proxy {
    pub port: u16,
    cut: Arc<AtomicBool>,
    open: Open,
    /// Bytes sent towards the server so far.
    pub sent: Arc<AtomicU64>,
}

impl Proxy {
    pub fn start(upstream: u16) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let cut = Arc::new(AtomicBool::new(false));
        let open: Open = Arc::default();
        let sent = Arc::new(AtomicU64::new(0));
        let (c, o, s) = (cut.clone(), open.clone(), sent.clone());
        std::thread::spawn(move || {
            for (id, client) in (0u64..).zip(listener.incoming().flatten()) {
                if c.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                    continue;
                };
                o.lock().unwrap().insert(
                    id,
                    vec![client.try_clone().unwrap(), server.try_clone().unwrap()],
                );
                let ends = Arc::new(AtomicU64::new(2));
                let done = (o.clone(), id, ends);
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(s.clone()),
                    done.clone(),
                );
                pipe(server, client, None, done);
            }
        });
        Self {
            port,
            cut,
            open,
            sent,
        }
    }

    pub fn cut(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in std::mem::take(&mut *self.open.lock().unwrap())
            .values()
            .flatten()
        {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    pub fn restore(&self) {
        self.cut.store(false, Ordering::SeqCst);
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Forwards one direction; the second direction to end forgets the connection in `open`.
fn pipe(
    mut from: TcpStream,
    mut to: TcpStream,
    count: Option<Arc<AtomicU64>>,
    (open, id, ends): (Open, u64, Arc<AtomicU64>),
) {
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 << 10];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                    if let Some(c) = &count {
                        c.fetch_add(n as u64, Ordering::Relaxed);
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
        if ends.fetch_sub(1, Ordering::SeqCst) == 1 {
            open.lock().unwrap().remove(&id);
        }
    });
}
