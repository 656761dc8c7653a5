//! The `foster` executable: the entry point, the panic handler and the memory
//! primitives a no-libc binary must bring. Everything else lives in the library.
#![no_std]
#![no_main]

use foster::sys;

// glibc-triple and host builds link no C runtime object: foster brings
// `_start`. musl triples always link musl's crt1.o, whose `_start` calls
// `__libc_start_main`: foster provides that instead (no libc is linked).
#[cfg(not(target_env = "musl"))]
foster::entry_point!(start);

#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
extern "C" fn __libc_start_main(_main: usize, argc: isize, argv: *const *const u8) -> ! {
    // SAFETY: crt1 passes the kernel's argc and argv; envp follows argv's NULL.
    let args = unsafe { sys::StartArgs::from_argv(argc as usize, argv) };
    sys::exit(foster::main(args))
}

/// crt1.o names `main`; foster never calls it.
#[cfg(target_env = "musl")]
#[unsafe(no_mangle)]
extern "C" fn main() -> i32 {
    0
}

/// Called by `_start` with the initial stack: argc, argv[..], NULL, envp[..], NULL.
#[cfg(not(target_env = "musl"))]
extern "C" fn start(sp: *const usize) -> ! {
    // SAFETY: the kernel lays out argc, the argv pointers and the envp pointers
    // contiguously on the initial stack, each array NULL-terminated.
    let args = unsafe { sys::StartArgs::from_stack(sp) };
    sys::exit(foster::main(args))
}

#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    foster::fatal::panicked()
}

#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

// The compiler emits calls to these; with no libc we bring our own. Volatile
// accesses keep LLVM from turning the loops back into calls to themselves.
#[unsafe(no_mangle)]
unsafe extern "C" fn memcpy(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for n bytes.
        unsafe { core::ptr::write_volatile(dst.add(i), core::ptr::read_volatile(src.add(i))) };
        i += 1;
    }
    dst
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memmove(dst: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dst as usize) <= (src as usize) {
        // SAFETY: forward copy is correct when dst precedes src.
        return unsafe { memcpy(dst, src, n) };
    }
    let mut i = n;
    while i > 0 {
        i -= 1;
        // SAFETY: the caller guarantees both ranges are valid for n bytes.
        unsafe { core::ptr::write_volatile(dst.add(i), core::ptr::read_volatile(src.add(i))) };
    }
    dst
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memset(dst: *mut u8, c: i32, n: usize) -> *mut u8 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees dst is valid for n bytes.
        unsafe { core::ptr::write_volatile(dst.add(i), c as u8) };
        i += 1;
    }
    dst
}

#[unsafe(no_mangle)]
unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for n bytes.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return x as i32 - y as i32;
        }
        i += 1;
    }
    0
}

/// Only equality counts (non-zero: the bytes differ): a loop of its own,
/// so `memcmp` is linked only if something calls it.
#[unsafe(no_mangle)]
unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: the caller guarantees both ranges are valid for n bytes.
        let (x, y) = unsafe {
            (
                core::ptr::read_volatile(a.add(i)),
                core::ptr::read_volatile(b.add(i)),
            )
        };
        if x != y {
            return 1;
        }
        i += 1;
    }
    0
}

#[unsafe(no_mangle)]
unsafe extern "C" fn strlen(s: *const u8) -> usize {
    let mut n = 0;
    // SAFETY: the caller guarantees s is NUL-terminated.
    while unsafe { core::ptr::read_volatile(s.add(n)) } != 0 {
        n += 1;
    }
    n
}
