//! The Undo against a real local repository whose writes fail or are held on demand.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, OnceLock, Weak};

use bytes::Bytes;

use super::*;

type Hook = Box<dyn Fn(FileType) -> RusticResult<()> + Send + Sync>;

/// A local backend whose writes go through `hook` first, which may fail or hold them.
struct Faulty {
    inner: Arc<dyn WriteBackend>,
    hook: Hook,
}

impl std::fmt::Debug for Faulty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Faulty")
    }
}

forward_read_backend!(Faulty);

impl WriteBackend for Faulty {
    fn create(&self) -> RusticResult<()> {
        self.inner.create()
    }
    fn write_bytes(
        &self,
        tpe: FileType,
        id: &Id,
        cacheable: bool,
        content: BytesList,
    ) -> RusticResult<()> {
        (self.hook)(tpe)?;
        self.inner.write_bytes(tpe, id, cacheable, content)
    }
    fn remove(&self, tpe: FileType, id: &Id, cacheable: bool) -> RusticResult<()> {
        self.inner.remove(tpe, id, cacheable)
    }
}

fn failure(errno: i32) -> Box<RusticError> {
    let io = std::io::Error::from_raw_os_error(errno);
    RusticError::with_source(ErrorKind::InputOutput, "cannot write", io)
}

/// An [`Undo`] over a fresh local repository whose writes pass `hook`; the repository's
/// own backend, to look at what is stored.
fn undo_over(hook: Hook) -> (tempfile::TempDir, Arc<Undo>, Arc<dyn WriteBackend>) {
    let dir = tempfile::tempdir().unwrap();
    let be = super::super::local::backend(dir.path().join("r").to_str().unwrap()).unwrap();
    be.create().unwrap();
    let faulty = Faulty {
        inner: be.clone(),
        hook,
    };
    (dir, Undo::wrap(Arc::new(faulty)), be)
}

fn write(be: &Undo, tpe: FileType) -> RusticResult<Id> {
    let id = Id::random();
    be.write_bytes(tpe, &id, false, Bytes::from("x").into())
        .map(|()| id)
}

/// Pack writes fail with ENOSPC once `full` is set.
fn fills_up(full: &Arc<AtomicBool>) -> Hook {
    let full = full.clone();
    Box::new(move |tpe| match tpe {
        FileType::Pack if full.load(Ordering::SeqCst) => Err(failure(libc::ENOSPC)),
        _ => Ok(()),
    })
}

#[test]
fn on_a_full_disk_the_packs_no_index_written_since_names_go_and_nothing_more_is_written() {
    let full = Arc::new(AtomicBool::new(false));
    let (_dir, undo, be) = undo_over(fills_up(&full));
    let indexed = write(&undo, FileType::Pack).unwrap();
    write(&undo, FileType::Index).unwrap();
    let orphans = [
        write(&undo, FileType::Pack).unwrap(),
        write(&undo, FileType::Pack).unwrap(),
    ];
    full.store(true, Ordering::SeqCst);
    assert!(write(&undo, FileType::Pack).is_err());
    undo.abandon("r");
    assert_eq!(be.list(FileType::Pack).unwrap(), [indexed]);
    assert!(orphans
        .iter()
        .all(|o| be.read_full(FileType::Pack, o).is_err()));
    full.store(false, Ordering::SeqCst);
    assert!(write(&undo, FileType::Pack).is_err(), "closed");
    assert_eq!(be.list(FileType::Pack).unwrap(), [indexed]);
}

#[test]
fn an_index_that_failed_to_be_written_names_no_pack() {
    let (_dir, undo, be) = undo_over(Box::new(|tpe| match tpe {
        FileType::Index => Err(failure(libc::EDQUOT)),
        _ => Ok(()),
    }));
    write(&undo, FileType::Pack).unwrap();
    assert!(write(&undo, FileType::Index).is_err());
    undo.abandon("r");
    assert_eq!(be.list(FileType::Pack).unwrap(), []);
}

/// A network cut or a Ctrl-C: the next copy indexes what was sent and sends the rest.
#[test]
fn after_any_other_failure_the_packs_stay_for_the_next_run() {
    let (_dir, undo, be) = undo_over(Box::new(|tpe| match tpe {
        FileType::Index => Err(failure(libc::ECONNRESET)),
        _ => Ok(()),
    }));
    let pack = write(&undo, FileType::Pack).unwrap();
    assert!(write(&undo, FileType::Index).is_err());
    undo.abandon("r");
    assert_eq!(be.list(FileType::Pack).unwrap(), [pack]);
}

/// rustic_core's packer threads outlive the failed operation: a pack they are writing
/// when it fails is waited for, then taken back, instead of cut off by the exit.
#[test]
fn a_write_in_flight_is_waited_for_then_taken_back() {
    let full = Arc::new(AtomicBool::new(true));
    let me: Arc<OnceLock<Weak<Undo>>> = Arc::default();
    let (started, in_flight) = mpsc::channel();
    let started = Mutex::new(started);
    let (hook_me, hook_full) = (me.clone(), full.clone());
    let (_dir, undo, be) = undo_over(Box::new(move |tpe| {
        if tpe != FileType::Pack {
            return Ok(());
        }
        if hook_full.swap(false, Ordering::SeqCst) {
            return Err(failure(libc::ENOSPC));
        }
        // Held until the operation is being undone.
        started.lock().unwrap().send(()).unwrap();
        let undo = hook_me.get().unwrap().upgrade().unwrap();
        while !undo.state().closed {
            std::thread::yield_now();
        }
        Ok(())
    }));
    me.set(Arc::downgrade(&undo)).unwrap();
    assert!(write(&undo, FileType::Pack).is_err());
    let writer = {
        let undo = undo.clone();
        std::thread::spawn(move || write(&undo, FileType::Pack))
    };
    in_flight.recv().unwrap();
    undo.abandon("r");
    writer.join().unwrap().unwrap();
    assert_eq!(be.list(FileType::Pack).unwrap(), []);
}
