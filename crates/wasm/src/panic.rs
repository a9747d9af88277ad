//! A record of why the instance trapped. A panic is a bug (inputs are validated before
//! kernels run), and on wasm32 it ends in a trap that JS sees only as "unreachable"; the
//! hook writes the panic's message into a fixed buffer first, which `ts/ffi.ts` reads
//! after the trap to say what failed. The buffer is static and written without
//! allocating, since the panic may come from an allocation failure.

use std::fmt::Write;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

const CAPACITY: usize = 1024;

/// Length of the record, then its UTF-8 bytes (JS reads both through `wg_panic_record`).
#[repr(C)]
pub struct PanicRecord {
    len: AtomicU32,
    bytes: [u8; CAPACITY],
}

static mut RECORD: PanicRecord = PanicRecord { len: AtomicU32::new(0), bytes: [0; CAPACITY] };

struct RecordWriter<'a> {
    bytes: &'a mut [u8; CAPACITY],
    len: usize,
}

impl Write for RecordWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == CAPACITY {
                break;
            }
            self.bytes[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// Records `message` (called by the panic hook and by the allocator's failure path).
pub fn record(message: std::fmt::Arguments) {
    // SAFETY: the record is written only by this function, which is not re-entered (the
    // hook runs once per thread, right before its trap). The single-threaded builds have
    // one thread. In the threads build a worker's panic comes first and the calling
    // thread's ("the pool is poisoned") only after the worker's JS saw its trap; two
    // workers panicking at the same moment (two bugs at once) could interleave their
    // bytes, which garbles a message but touches nothing else.
    let rec = unsafe { &mut *std::ptr::addr_of_mut!(RECORD) };
    let mut w = RecordWriter { bytes: &mut rec.bytes, len: 0 };
    let _ = w.write_fmt(message);
    rec.len.store(w.len as u32, Relaxed);
}

/// The record's current text, copied into `buf` first (the record may be rewritten while
/// the caller formats it): in the threads build, what a worker that trapped had recorded.
#[cfg(target_feature = "atomics")]
pub fn current(buf: &mut [u8; CAPACITY]) -> &str {
    // SAFETY: a plain read of the static record; see `record` for who writes it and when.
    let rec = unsafe { &*std::ptr::addr_of!(RECORD) };
    let len = (rec.len.load(Relaxed) as usize).min(CAPACITY);
    buf[..len].copy_from_slice(&rec.bytes[..len]);
    match std::str::from_utf8(&buf[..len]) {
        Ok(text) => text,
        // A message cut at CAPACITY may end inside a character: keep the valid prefix.
        Err(e) => std::str::from_utf8(&buf[..e.valid_up_to()]).unwrap_or_default(),
    }
}

/// A buffer for [`current`].
#[cfg(target_feature = "atomics")]
pub const fn buffer() -> [u8; CAPACITY] {
    [0; CAPACITY]
}

pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let failed = crate::allocator::take_last_failure();
        if failed > 0 {
            record(format_args!("{info} (an allocation of {failed} bytes had just failed: out of memory)"));
        } else {
            record(format_args!("{info}"));
        }
    }));
}

/// Address of the panic record: a u32 length, then the message bytes.
#[no_mangle]
pub extern "C" fn wg_panic_record() -> usize {
    std::ptr::addr_of!(RECORD) as usize
}
