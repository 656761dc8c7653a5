//! The raw `syscall` instruction and the process entry point, per architecture.
//! Everything above this file is architecture-neutral: it only sees
//! `syscall0` .. `syscall6`.

#[cfg(target_arch = "x86_64")]
mod imp {
    // One function per argument count: the registers of unused arguments are
    // left alone instead of zeroed at every call site.
    macro_rules! syscalls {
        ($($name:ident($($a:ident: $reg:tt),*);)*) => {$(
            /// # Safety
            /// The caller guarantees the arguments are valid for syscall `nr`.
            #[inline(always)]
            pub unsafe fn $name(nr: usize $(, $a: usize)*) -> isize {
                let ret: isize;
                // SAFETY: the x86_64 syscall ABI: rax = nr, args in rdi rsi rdx
                // r10 r8 r9; the kernel clobbers rcx and r11 only.
                unsafe {
                    core::arch::asm!(
                        "syscall",
                        inlateout("rax") nr as isize => ret,
                        $(in($reg) $a,)*
                        lateout("rcx") _, lateout("r11") _,
                        options(nostack, preserves_flags)
                    );
                }
                ret
            }
        )*};
    }
    syscalls! {
        syscall0();
        syscall1(a: "rdi");
        syscall2(a: "rdi", b: "rsi");
        syscall3(a: "rdi", b: "rsi", c: "rdx");
        syscall4(a: "rdi", b: "rsi", c: "rdx", d: "r10");
        syscall5(a: "rdi", b: "rsi", c: "rdx", d: "r10", e: "r8");
        syscall6(a: "rdi", b: "rsi", c: "rdx", d: "r10", e: "r8", f: "r9");
    }

    /// The ELF entry point: hands the initial stack pointer (argc, argv, envp) to `entry`.
    #[macro_export]
    macro_rules! entry_point {
        ($entry:path) => {
            #[unsafe(naked)]
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn _start() -> ! {
                core::arch::naked_asm!(
                    "xor ebp, ebp",
                    "mov rdi, rsp",
                    "and rsp, -16",
                    "call {entry}",
                    "ud2",
                    entry = sym $entry,
                )
            }
        };
    }
}

#[cfg(target_arch = "aarch64")]
mod imp {
    // One function per argument count: the registers of unused arguments are
    // left alone instead of zeroed at every call site.
    macro_rules! syscalls {
        ($($name:ident($a0:ident $(, $a:ident: $reg:tt)*);)*) => {$(
            /// # Safety
            /// The caller guarantees the arguments are valid for syscall `nr`.
            #[inline(always)]
            pub unsafe fn $name(nr: usize, $a0: usize $(, $a: usize)*) -> isize {
                let ret: isize;
                // SAFETY: the aarch64 syscall ABI: x8 = nr, args in x0..x5, result in x0.
                unsafe {
                    core::arch::asm!(
                        "svc 0",
                        in("x8") nr,
                        inlateout("x0") $a0 as isize => ret,
                        $(in($reg) $a,)*
                        options(nostack, preserves_flags)
                    );
                }
                ret
            }
        )*};
    }
    syscalls! {
        syscall1(a);
        syscall2(a, b: "x1");
        syscall3(a, b: "x1", c: "x2");
        syscall4(a, b: "x1", c: "x2", d: "x3");
        syscall5(a, b: "x1", c: "x2", d: "x3", e: "x4");
        syscall6(a, b: "x1", c: "x2", d: "x3", e: "x4", f: "x5");
    }

    /// # Safety
    /// The caller guarantees syscall `nr` takes no arguments.
    #[inline(always)]
    pub unsafe fn syscall0(nr: usize) -> isize {
        // SAFETY: the first argument register doubles as the result register.
        unsafe { syscall1(nr, 0) }
    }

    /// The ELF entry point: hands the initial stack pointer (argc, argv, envp) to `entry`.
    #[macro_export]
    macro_rules! entry_point {
        ($entry:path) => {
            #[unsafe(naked)]
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn _start() -> ! {
                core::arch::naked_asm!(
                    "mov x29, xzr",
                    "mov x30, xzr",
                    "mov x0, sp",
                    "bl {entry}",
                    "brk #0",
                    entry = sym $entry,
                )
            }
        };
    }
}

#[cfg(target_arch = "riscv64")]
mod imp {
    // One function per argument count: the registers of unused arguments are
    // left alone instead of zeroed at every call site.
    macro_rules! syscalls {
        ($($name:ident($a0:ident $(, $a:ident: $reg:tt)*);)*) => {$(
            /// # Safety
            /// The caller guarantees the arguments are valid for syscall `nr`.
            #[inline(always)]
            pub unsafe fn $name(nr: usize, $a0: usize $(, $a: usize)*) -> isize {
                let ret: isize;
                // SAFETY: the riscv64 syscall ABI: a7 = nr, args in a0..a5, result in a0.
                unsafe {
                    core::arch::asm!(
                        "ecall",
                        in("a7") nr,
                        inlateout("a0") $a0 as isize => ret,
                        $(in($reg) $a,)*
                        options(nostack, preserves_flags)
                    );
                }
                ret
            }
        )*};
    }
    syscalls! {
        syscall1(a);
        syscall2(a, b: "a1");
        syscall3(a, b: "a1", c: "a2");
        syscall4(a, b: "a1", c: "a2", d: "a3");
        syscall5(a, b: "a1", c: "a2", d: "a3", e: "a4");
        syscall6(a, b: "a1", c: "a2", d: "a3", e: "a4", f: "a5");
    }

    /// # Safety
    /// The caller guarantees syscall `nr` takes no arguments.
    #[inline(always)]
    pub unsafe fn syscall0(nr: usize) -> isize {
        // SAFETY: the first argument register doubles as the result register.
        unsafe { syscall1(nr, 0) }
    }

    /// The ELF entry point: hands the initial stack pointer (argc, argv, envp) to `entry`.
    #[macro_export]
    macro_rules! entry_point {
        ($entry:path) => {
            #[unsafe(naked)]
            #[unsafe(no_mangle)]
            pub unsafe extern "C" fn _start() -> ! {
                core::arch::naked_asm!(
                    ".option push",
                    ".option norelax",
                    "lla gp, __global_pointer$",
                    ".option pop",
                    "mv a0, sp",
                    "andi sp, sp, -16",
                    "call {entry}",
                    "unimp",
                    entry = sym $entry,
                )
            }
        };
    }
}

pub use imp::{syscall0, syscall1, syscall2, syscall3, syscall4, syscall5, syscall6};
