//! The raw `syscall` instruction and the process entry point, per architecture.
//! Everything above this file is architecture-neutral: it only sees `syscall6`.

#[cfg(target_arch = "x86_64")]
mod imp {
    /// # Safety
    /// The caller guarantees the arguments are valid for syscall `nr`.
    #[inline(always)]
    pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the x86_64 syscall ABI: rax = nr, args in rdi rsi rdx r10 r8 r9;
        // the kernel clobbers rcx and r11 only.
        unsafe {
            core::arch::asm!(
                "syscall",
                inlateout("rax") nr as isize => ret,
                in("rdi") a[0], in("rsi") a[1], in("rdx") a[2],
                in("r10") a[3], in("r8") a[4], in("r9") a[5],
                lateout("rcx") _, lateout("r11") _,
                options(nostack, preserves_flags)
            );
        }
        ret
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
    /// # Safety
    /// The caller guarantees the arguments are valid for syscall `nr`.
    #[inline(always)]
    pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the aarch64 syscall ABI: x8 = nr, args in x0..x5, result in x0.
        unsafe {
            core::arch::asm!(
                "svc 0",
                in("x8") nr,
                inlateout("x0") a[0] as isize => ret,
                in("x1") a[1], in("x2") a[2], in("x3") a[3], in("x4") a[4], in("x5") a[5],
                options(nostack, preserves_flags)
            );
        }
        ret
    }

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
    /// # Safety
    /// The caller guarantees the arguments are valid for syscall `nr`.
    #[inline(always)]
    pub unsafe fn syscall6(nr: usize, a: [usize; 6]) -> isize {
        let ret: isize;
        // SAFETY: the riscv64 syscall ABI: a7 = nr, args in a0..a5, result in a0.
        unsafe {
            core::arch::asm!(
                "ecall",
                in("a7") nr,
                inlateout("a0") a[0] as isize => ret,
                in("a1") a[1], in("a2") a[2], in("a3") a[3], in("a4") a[4], in("a5") a[5],
                options(nostack, preserves_flags)
            );
        }
        ret
    }

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

pub use imp::syscall6;
