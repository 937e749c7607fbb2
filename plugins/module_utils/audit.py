# Copyright: Rampart developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure logic for the Linux audit system: rules as data, auditctl output, the audit log.

Nothing here touches the host. Every function takes strings, numbers or plain data, so
it is unit-tested against captured outputs (tests/fixtures/audit/). The modules
``audit_rules`` and ``audit_summary_info`` and the filters in plugins/filter/audit.py do
the I/O and call into this file.

Three parts:

* rules: render rule dicts to auditctl lines (:func:`render_rules`), parse any auditctl
  rule line - ours, another rules.d file's, or what ``auditctl -l`` prints - into a
  canonical :class:`Rule` (:func:`parse_rule_line`), assemble rules.d the way augenrules
  does (:func:`assemble_rules_d`) and compare desired with loaded (:func:`compare_rules`);
* status: ``auditctl -s`` (:func:`parse_status`) and the errors auditctl gives where the
  kernel refuses audit requests (:func:`kernel_refusal`);
* the log: :class:`LogSummariser` reads raw audit.log lines, groups records into events
  by their serial and counts what AUD-08 asks for; :func:`parse_since` reads time specs.

Where a decision mirrors audit-userspace or the kernel, the C function is named.
"""

from __future__ import annotations

import datetime
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------------------
# Syscall tables
# ---------------------------------------------------------------------------

# `ausyscall x86_64 --dump` and `ausyscall i386 --dump` of audit 3.0.9 (Debian 12), the
# names auditctl knows on x86_64 for -F arch=b64 and -F arch=b32 (captured in
# tests/fixtures/audit/bookworm/). Debian 13's audit 4.0.2 knows these and the names in
# AUDIT4_ONLY_SYSCALLS; a rule using those would not load on Debian 12.
_B64_TABLE = """
0:read 1:write 2:open 3:close 4:stat 5:fstat 6:lstat 7:poll 8:lseek 9:mmap 10:mprotect 11:munmap 12:brk
13:rt_sigaction 14:rt_sigprocmask 15:rt_sigreturn 16:ioctl 17:pread 18:pwrite 19:readv 20:writev
21:access 22:pipe 23:select 24:sched_yield 25:mremap 26:msync 27:mincore 28:madvise 29:shmget 30:shmat
31:shmctl 32:dup 33:dup2 34:pause 35:nanosleep 36:getitimer 37:alarm 38:setitimer 39:getpid 40:sendfile
41:socket 42:connect 43:accept 44:sendto 45:recvfrom 46:sendmsg 47:recvmsg 48:shutdown 49:bind 50:listen
51:getsockname 52:getpeername 53:socketpair 54:setsockopt 55:getsockopt 56:clone 57:fork 58:vfork
59:execve 60:exit 61:wait4 62:kill 63:uname 64:semget 65:semop 66:semctl 67:shmdt 68:msgget 69:msgsnd
70:msgrcv 71:msgctl 72:fcntl 73:flock 74:fsync 75:fdatasync 76:truncate 77:ftruncate 78:getdents
79:getcwd 80:chdir 81:fchdir 82:rename 83:mkdir 84:rmdir 85:creat 86:link 87:unlink 88:symlink
89:readlink 90:chmod 91:fchmod 92:chown 93:fchown 94:lchown 95:umask 96:gettimeofday 97:getrlimit
98:getrusage 99:sysinfo 100:times 101:ptrace 102:getuid 103:syslog 104:getgid 105:setuid 106:setgid
107:geteuid 108:getegid 109:setpgid 110:getppid 111:getpgrp 112:setsid 113:setreuid 114:setregid
115:getgroups 116:setgroups 117:setresuid 118:getresuid 119:setresgid 120:getresgid 121:getpgid
122:setfsuid 123:setfsgid 124:getsid 125:capget 126:capset 127:rt_sigpending 128:rt_sigtimedwait
129:rt_sigqueueinfo 130:rt_sigsuspend 131:sigaltstack 132:utime 133:mknod 134:uselib 135:personality
136:ustat 137:statfs 138:fstatfs 139:sysfs 140:getpriority 141:setpriority 142:sched_setparam
143:sched_getparam 144:sched_setscheduler 145:sched_getscheduler 146:sched_get_priority_max
147:sched_get_priority_min 148:sched_rr_get_interval 149:mlock 150:munlock 151:mlockall 152:munlockall
153:vhangup 154:modify_ldt 155:pivot_root 156:_sysctl 157:prctl 158:arch_prctl 159:adjtimex
160:setrlimit 161:chroot 162:sync 163:acct 164:settimeofday 165:mount 166:umount2 167:swapon 168:swapoff
169:reboot 170:sethostname 171:setdomainname 172:iopl 173:ioperm 174:create_module 175:init_module
176:delete_module 177:get_kernel_syms 178:query_module 179:quotactl 180:nfsservctl 181:getpmsg
182:putpmsg 183:afs_syscall 184:tuxcall 185:security 186:gettid 187:readahead 188:setxattr 189:lsetxattr
190:fsetxattr 191:getxattr 192:lgetxattr 193:fgetxattr 194:listxattr 195:llistxattr 196:flistxattr
197:removexattr 198:lremovexattr 199:fremovexattr 200:tkill 201:time 202:futex 203:sched_setaffinity
204:sched_getaffinity 205:set_thread_area 206:io_setup 207:io_destroy 208:io_getevents 209:io_submit
210:io_cancel 211:get_thread_area 212:lookup_dcookie 213:epoll_create 214:epoll_ctl_old
215:epoll_wait_old 216:remap_file_pages 217:getdents64 218:set_tid_address 219:restart_syscall
220:semtimedop 221:fadvise64 222:timer_create 223:timer_settime 224:timer_gettime 225:timer_getoverrun
226:timer_delete 227:clock_settime 228:clock_gettime 229:clock_getres 230:clock_nanosleep 231:exit_group
232:epoll_wait 233:epoll_ctl 234:tgkill 235:utimes 236:vserver 237:mbind 238:set_mempolicy
239:get_mempolicy 240:mq_open 241:mq_unlink 242:mq_timedsend 243:mq_timedreceive 244:mq_notify
245:mq_getsetattr 246:kexec_load 247:waitid 248:add_key 249:request_key 250:keyctl 251:ioprio_set
252:ioprio_get 253:inotify_init 254:inotify_add_watch 255:inotify_rm_watch 256:migrate_pages 257:openat
258:mkdirat 259:mknodat 260:fchownat 261:futimesat 262:newfstatat 263:unlinkat 264:renameat 265:linkat
266:symlinkat 267:readlinkat 268:fchmodat 269:faccessat 270:pselect6 271:ppoll 272:unshare
273:set_robust_list 274:get_robust_list 275:splice 276:tee 277:sync_file_range 278:vmsplice
279:move_pages 280:utimensat 281:epoll_pwait 282:signalfd 283:timerfd_create 284:eventfd 285:fallocate
286:timerfd_settime 287:timerfd_gettime 288:accept4 289:signalfd4 290:eventfd2 291:epoll_create1
292:dup3 293:pipe2 294:inotify_init1 295:preadv 296:pwritev 297:rt_tgsigqueueinfo 298:perf_event_open
299:recvmmsg 300:fanotify_init 301:fanotify_mark 302:prlimit64 303:name_to_handle_at
304:open_by_handle_at 305:clock_adjtime 306:syncfs 307:sendmmsg 308:setns 309:getcpu
310:process_vm_readv 311:process_vm_writev 312:kcmp 313:finit_module 314:sched_setattr 315:sched_getattr
316:renameat2 317:seccomp 318:getrandom 319:memfd_create 320:kexec_file_load 321:bpf 322:execveat
323:userfaultfd 324:membarrier 325:mlock2 326:copy_file_range 327:preadv2 328:pwritev2 329:pkey_mprotect
330:pkey_alloc 331:pkey_free 332:statx 333:io_pgetevents 334:rseq 424:pidfd_send_signal
425:io_uring_setup 426:io_uring_enter 427:io_uring_register 428:open_tree 429:move_mount 430:fsopen
431:fsconfig 432:fsmount 433:fspick 434:pidfd_open 435:clone3 436:close_range 437:openat2
438:pidfd_getfd 439:faccessat2 440:process_madvise 441:epoll_pwait2 442:mount_setattr 443:quotactl_fd
444:landlock_create_ruleset 445:landlock_add_rule 446:landlock_restrict_self 447:memfd_secret
448:process_mrelease 449:futex_waitv 450:set_mempolicy_home_node
"""
_B32_TABLE = """
0:restart_syscall 1:exit 2:fork 3:read 4:write 5:open 6:close 7:waitpid 8:creat 9:link 10:unlink
11:execve 12:chdir 13:time 14:mknod 15:chmod 16:lchown 17:break 18:oldstat 19:lseek 20:getpid 21:mount
22:umount 23:setuid 24:getuid 25:stime 26:ptrace 27:alarm 28:oldfstat 29:pause 30:utime 31:stty 32:gtty
33:access 34:nice 35:ftime 36:sync 37:kill 38:rename 39:mkdir 40:rmdir 41:dup 42:pipe 43:times 44:prof
45:brk 46:setgid 47:getgid 48:signal 49:geteuid 50:getegid 51:acct 52:umount2 53:lock 54:ioctl 55:fcntl
56:mpx 57:setpgid 58:ulimit 59:oldolduname 60:umask 61:chroot 62:ustat 63:dup2 64:getppid 65:getpgrp
66:setsid 67:sigaction 68:sgetmask 69:ssetmask 70:setreuid 71:setregid 72:sigsuspend 73:sigpending
74:sethostname 75:setrlimit 76:getrlimit 77:getrusage 78:gettimeofday 79:settimeofday 80:getgroups
81:setgroups 82:select 83:symlink 84:oldlstat 85:readlink 86:uselib 87:swapon 88:reboot 89:readdir
90:mmap 91:munmap 92:truncate 93:ftruncate 94:fchmod 95:fchown 96:getpriority 97:setpriority 98:profil
99:statfs 100:fstatfs 101:ioperm 102:socketcall 103:syslog 104:setitimer 105:getitimer 106:stat
107:lstat 108:fstat 109:olduname 110:iopl 111:vhangup 112:idle 113:vm86old 114:wait4 115:swapoff
116:sysinfo 117:ipc 118:fsync 119:sigreturn 120:clone 121:setdomainname 122:uname 123:modify_ldt
124:adjtimex 125:mprotect 126:sigprocmask 127:create_module 128:init_module 129:delete_module
130:get_kernel_syms 131:quotactl 132:getpgid 133:fchdir 134:bdflush 135:sysfs 136:personality
137:afs_syscall 138:setfsuid 139:setfsgid 140:_llseek 141:getdents 142:_newselect 143:flock 144:msync
145:readv 146:writev 147:getsid 148:fdatasync 149:_sysctl 150:mlock 151:munlock 152:mlockall
153:munlockall 154:sched_setparam 155:sched_getparam 156:sched_setscheduler 157:sched_getscheduler
158:sched_yield 159:sched_get_priority_max 160:sched_get_priority_min 161:sched_rr_get_interval
162:nanosleep 163:mremap 164:setresuid 165:getresuid 166:vm86 167:query_module 168:poll 169:nfsservctl
170:setresgid 171:getresgid 172:prctl 173:rt_sigreturn 174:rt_sigaction 175:rt_sigprocmask
176:rt_sigpending 177:rt_sigtimedwait 178:rt_sigqueueinfo 179:rt_sigsuspend 180:pread64 181:pwrite64
182:chown 183:getcwd 184:capget 185:capset 186:sigaltstack 187:sendfile 188:getpmsg 189:putpmsg
190:vfork 191:ugetrlimit 192:mmap2 193:truncate64 194:ftruncate64 195:stat64 196:lstat64 197:fstat64
198:lchown32 199:getuid32 200:getgid32 201:geteuid32 202:getegid32 203:setreuid32 204:setregid32
205:getgroups32 206:setgroups32 207:fchown32 208:setresuid32 209:getresuid32 210:setresgid32
211:getresgid32 212:chown32 213:setuid32 214:setgid32 215:setfsuid32 216:setfsgid32 217:pivot_root
218:mincore 219:madvise 220:getdents64 221:fcntl64 224:gettid 225:readahead 226:setxattr 227:lsetxattr
228:fsetxattr 229:getxattr 230:lgetxattr 231:fgetxattr 232:listxattr 233:llistxattr 234:flistxattr
235:removexattr 236:lremovexattr 237:fremovexattr 238:tkill 239:sendfile64 240:futex
241:sched_setaffinity 242:sched_getaffinity 243:set_thread_area 244:get_thread_area 245:io_setup
246:io_destroy 247:io_getevents 248:io_submit 249:io_cancel 250:fadvise64 252:exit_group
253:lookup_dcookie 254:epoll_create 255:epoll_ctl 256:epoll_wait 257:remap_file_pages
258:set_tid_address 259:timer_create 260:timer_settime 261:timer_gettime 262:timer_getoverrun
263:timer_delete 264:clock_settime 265:clock_gettime 266:clock_getres 267:clock_nanosleep 268:statfs64
269:fstatfs64 270:tgkill 271:utimes 272:fadvise64_64 273:vserver 274:mbind 275:get_mempolicy
276:set_mempolicy 277:mq_open 278:mq_unlink 279:mq_timedsend 280:mq_timedreceive 281:mq_notify
282:mq_getsetattr 283:sys_kexec_load 284:waitid 286:add_key 287:request_key 288:keyctl 289:ioprio_set
290:ioprio_get 291:inotify_init 292:inotify_add_watch 293:inotify_rm_watch 294:migrate_pages 295:openat
296:mkdirat 297:mknodat 298:fchownat 299:futimesat 300:fstatat64 301:unlinkat 302:renameat 303:linkat
304:symlinkat 305:readlinkat 306:fchmodat 307:faccessat 308:pselect6 309:ppoll 310:unshare
311:set_robust_list 312:get_robust_list 313:splice 314:sync_file_range 315:tee 316:vmsplice
317:move_pages 318:getcpu 319:epoll_pwait 320:utimensat 321:signalfd 322:timerfd_create 323:eventfd
324:fallocate 325:timerfd_settime 326:timerfd_gettime 327:signalfd4 328:eventfd2 329:epoll_create1
330:dup3 331:pipe2 332:inotify_init1 333:preadv 334:pwritev 335:rt_tgsigqueueinfo 336:perf_event_open
337:recvmmsg 338:fanotify_init 339:fanotify_mark 340:prlimit64 341:name_to_handle_at
342:open_by_handle_at 343:clock_adjtime 344:syncfs 345:sendmmsg 346:setns 347:process_vm_readv
348:process_vm_writev 349:kcmp 350:finit_module 351:sched_setattr 352:sched_getattr 353:renameat2
354:seccomp 355:getrandom 356:memfd_create 357:bpf 358:execveat 359:socket 360:socketpair 361:bind
362:connect 363:listen 364:accept4 365:getsockopt 366:setsockopt 367:getsockname 368:getpeername
369:sendto 370:sendmsg 371:recvfrom 372:recvmsg 373:shutdown 374:userfaultfd 375:membarrier 376:mlock2
377:copy_file_range 378:preadv2 379:pwritev2 380:pkey_mprotect 381:pkey_alloc 382:pkey_free 383:statx
384:arch_prctl 385:io_pgetevents 386:rseq 393:semget 394:semctl 395:shmget 396:shmctl 397:shmat
398:shmdt 399:msgget 400:msgsnd 401:msgrcv 402:msgctl 403:clock_gettime64 404:clock_settime64
405:clock_adjtime64 406:clock_getres_time64 407:clock_nanosleep_time64 408:timer_gettime64
409:timer_settime64 410:timerfd_gettime64 411:timerfd_settime64 412:utimensat_time64 413:pselect6_time64
414:ppoll_time64 416:io_pgetevents_time64 417:recvmmsg_time64 418:mq_timedsend_time64
419:mq_timedreceive_time64 420:semtimedop_time64 421:rt_sigtimedwait_time64 422:futex_time64
423:sched_rr_get_interval64 424:pidfd_send_signal 425:io_uring_setup 426:io_uring_enter
427:io_uring_register 428:open_tree 429:move_mount 430:fsopen 431:fsconfig 432:fsmount 433:fspick
434:pidfd_open 435:clone3 436:close_range 437:openat2 438:pidfd_getfd 439:faccessat2 440:process_madvise
441:epoll_pwait2 442:mount_setattr 443:quotactl_fd 444:landlock_create_ruleset 445:landlock_add_rule
446:landlock_restrict_self 447:memfd_secret 448:process_mrelease 449:futex_waitv
450:set_mempolicy_home_node
"""
AUDIT4_ONLY_SYSCALLS = frozenset(
    [
        "cachestat",
        "fchmodat2",
        "futex_requeue",
        "futex_wait",
        "futex_wake",
        "listmount",
        "lsm_get_self_attr",
        "lsm_list_modules",
        "lsm_set_self_attr",
        "map_shadow_stack",
        "mseal",
        "statmount",
    ]
)


def _table(text: str) -> dict[str, int]:
    pairs = (item.split(":") for item in text.split())
    return {name: int(number) for number, name in pairs}


#: name -> number for each arch auditctl uses on x86_64 (b64 = x86_64, b32 = i386).
SYSCALLS: dict[str, dict[str, int]] = {"b64": _table(_B64_TABLE), "b32": _table(_B32_TABLE)}
SYSCALL_NAMES: dict[str, dict[int, str]] = {
    arch: {number: name for name, number in table.items()} for arch, table in SYSCALLS.items()
}
ARCHES = ("b64", "b32")
_ARCH_ALIASES = {
    "b64": "b64",
    "64": "b64",
    "x86_64": "b64",
    "c000003e": "b64",
    "0xc000003e": "b64",
    "b32": "b32",
    "32": "b32",
    "i386": "b32",
    "i486": "b32",
    "i586": "b32",
    "i686": "b32",
    "40000003": "b32",
    "0x40000003": "b32",
}


def normalise_arch(value: str) -> str:
    """``b64``/``x86_64``/``c000003e`` -> ``b64``; ``b32``/``i386``/``40000003`` -> ``b32``."""
    arch = _ARCH_ALIASES.get(value.lower())
    if arch is None:
        raise AuditRuleError(f"unsupported arch {value!r} (this toolkit knows x86_64 hosts: b64, b32)")
    return arch


# ---------------------------------------------------------------------------
# Rule syntax
# ---------------------------------------------------------------------------


class AuditRuleError(ValueError):
    """A rule (dict or line) that auditctl would refuse or that breaks the house rules."""


KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,31}$")
KEY_PREFIX_RE = re.compile(r"^(AUD|MON|NET|RAC|PAT|STO|ENC)-\d\d")
PERM_CHARS = "rwxa"
OPERATORS = ("!=", "<=", ">=", "&=", "=", "<", ">", "&")
_FIELD_RE = re.compile(r"^([a-z][a-z0-9_]*)(!=|<=|>=|&=|=|<|>|&)(\S+)$")

#: -F fields accepted in rule dicts (auditctl's field table, less arch and key, which
#: have their own rule keys).
RULE_FIELDS = frozenset(
    [
        "a0",
        "a1",
        "a2",
        "a3",
        "auid",
        "loginuid",
        "loginuid_set",
        "uid",
        "euid",
        "suid",
        "fsuid",
        "gid",
        "egid",
        "sgid",
        "fsgid",
        "obj_uid",
        "obj_gid",
        "pid",
        "ppid",
        "pers",
        "exit",
        "success",
        "devmajor",
        "devminor",
        "inode",
        "path",
        "dir",
        "perm",
        "filetype",
        "msgtype",
        "exe",
        "sessionid",
        "saddr_fam",
        "fstype",
        "subj_user",
        "subj_role",
        "subj_type",
        "subj_sen",
        "subj_clr",
        "obj_user",
        "obj_role",
        "obj_type",
        "obj_lev_low",
        "obj_lev_high",
    ]
)
UID_FIELDS = frozenset({"auid", "uid", "euid", "suid", "fsuid", "obj_uid"})
GID_FIELDS = frozenset({"gid", "egid", "sgid", "fsgid", "obj_gid"})
INT_FIELDS = frozenset(
    {"pid", "ppid", "pers", "success", "devmajor", "devminor", "inode", "sessionid", "saddr_fam"}
)
PATH_FIELDS = frozenset({"path", "dir", "exe"})
ARG_FIELDS = frozenset({"a0", "a1", "a2", "a3"})
UNSET_ID = 4294967295
_ID_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\$?$")

#: Linux errno numbers for exit= values written as names (auditctl accepts -EACCES).
ERRNO = {
    "EPERM": 1,
    "ENOENT": 2,
    "ESRCH": 3,
    "EINTR": 4,
    "EIO": 5,
    "ENXIO": 6,
    "E2BIG": 7,
    "ENOEXEC": 8,
    "EBADF": 9,
    "ECHILD": 10,
    "EAGAIN": 11,
    "ENOMEM": 12,
    "EACCES": 13,
    "EFAULT": 14,
    "EBUSY": 16,
    "EEXIST": 17,
    "EXDEV": 18,
    "ENODEV": 19,
    "ENOTDIR": 20,
    "EISDIR": 21,
    "EINVAL": 22,
    "ENFILE": 23,
    "EMFILE": 24,
    "ETXTBSY": 26,
    "EFBIG": 27,
    "ENOSPC": 28,
    "ESPIPE": 29,
    "EROFS": 30,
    "EMLINK": 31,
    "EPIPE": 32,
    "ENAMETOOLONG": 36,
    "ENOSYS": 38,
    "ENOTEMPTY": 39,
    "ELOOP": 40,
    "EOPNOTSUPP": 95,
    "ECONNREFUSED": 111,
}

_ERRNO_NAMES = {number: name for name, number in ERRNO.items()}

#: filetype= names (auditctl) -> the S_IF* value ``auditctl -l`` prints.
FILETYPES = {
    "file": 0o100000,
    "dir": 0o040000,
    "socket": 0o140000,
    "link": 0o120000,
    "symlink": 0o120000,
    "character": 0o020000,
    "block": 0o060000,
    "fifo": 0o010000,
}

#: -C comparisons in the order ``auditctl -l`` prints them (auditctl-listing.c print_field_cmp).
FIELD_COMPARISONS = frozenset(
    tuple(pair.split("/"))
    for pair in [
        "uid/obj_uid",
        "gid/obj_gid",
        "euid/obj_uid",
        "egid/obj_gid",
        "auid/obj_uid",
        "suid/obj_uid",
        "sgid/obj_gid",
        "fsuid/obj_uid",
        "fsgid/obj_gid",
        "uid/auid",
        "uid/euid",
        "uid/fsuid",
        "uid/suid",
        "auid/fsuid",
        "auid/suid",
        "auid/euid",
        "euid/suid",
        "euid/fsuid",
        "suid/fsuid",
        "gid/egid",
        "gid/fsgid",
        "gid/sgid",
        "egid/fsgid",
        "egid/sgid",
        "sgid/fsgid",
    ]
)

LISTS = frozenset({"exit", "user", "exclude", "filesystem", "task", "io_uring", "entry"})
ACTIONS = frozenset({"always", "never"})

#: Control lines accepted in rule dicts: option -> value pattern (None: no value).
CONTROL_OPTIONS: dict[str, re.Pattern[str] | None] = {
    "-b": re.compile(r"^\d{1,9}$"),
    "-f": re.compile(r"^[012]$"),
    "-e": re.compile(r"^[012]$"),
    "-r": re.compile(r"^\d{1,9}$"),
    "--backlog_wait_time": re.compile(r"^\d{1,6}$"),
    "--loginuid-immutable": None,
}
#: Every control option auditctl takes in a rules file (for reading other rules.d files).
ALL_CONTROL_OPTIONS = frozenset(
    {*CONTROL_OPTIONS, "-D", "-c", "-i", "--reset-lost", "--reset_backlog_wait_time_actual", "--signal"}
)
#: ``auditctl -s`` status field that each control sets.
CONTROL_STATUS = {
    "-b": "backlog_limit",
    "-f": "failure",
    "-e": "enabled",
    "-r": "rate_limit",
    "--backlog_wait_time": "backlog_wait_time",
    "--loginuid-immutable": "loginuid_immutable",
}

IdResolver = Callable[[str, str], "int | None"]
"""(field name, user or group name) -> numeric id, or None when unknown."""


def _strtoul(text: str) -> int:
    """C strtoul(text, NULL, 0): 0x.. hex, leading 0 octal, else decimal (negative wraps)."""
    sign = -1 if text.startswith("-") else 1
    body = text.lstrip("+-")
    if body.lower().startswith("0x"):
        value = int(body[2:], 16)
    elif len(body) > 1 and body.startswith("0"):
        value = int(body[1:], 8)
    else:
        value = int(body, 10)
    return (sign * value) & 0xFFFFFFFF


def normalise_perms(perms: str) -> str:
    """``aw`` -> ``wa``: the order ``auditctl -l`` prints (r, w, x, a). Raises on other letters."""
    bad = sorted(set(perms) - set(PERM_CHARS))
    if not perms or bad:
        raise AuditRuleError(f"perms must be letters from rwxa, got {perms!r}")
    return "".join(c for c in PERM_CHARS if c in perms)


def _strip_slash(path: str) -> str:
    return path.rstrip("/") or "/"


def normalise_field(  # noqa: PLR0911, PLR0912 - one return per field kind
    name: str, op: str, value: str, resolve: IdResolver | None = None
) -> tuple[str, str, str]:
    """One -F field in the form ``auditctl -l`` prints it, so both sides compare equal.

    ``auid!=-1``/``4294967295``/``unset`` all become ``unset``; ``exit=-EACCES`` becomes
    ``-13``; a0..a3 become hex as auditctl prints them; ``filetype=file`` the S_IF number;
    ``perm`` the rwxa order; paths lose a trailing slash; ``loginuid`` is ``auid``; user
    and group names become numbers through ``resolve`` when it knows them.
    """
    if name == "loginuid":
        name = "auid"
    if op not in OPERATORS:
        raise AuditRuleError(f"unknown operator {op!r} in field {name}{op}{value}")
    try:
        if name in UID_FIELDS or name in GID_FIELDS:
            if value in ("unset", "-1", str(UNSET_ID)):
                return name, op, "unset"
            if re.fullmatch(r"\d+", value):
                return name, op, str(int(value))
            if not _ID_NAME_RE.match(value):
                raise AuditRuleError(f"field {name}{op}{value}: {value!r} is not a number, unset or a name")
            number = resolve(name, value) if resolve else None
            return name, op, value if number is None else str(number)
        if name == "exit":
            match = re.fullmatch(r"(-?)(E[A-Z0-9]+)", value)
            if match and match.group(2) in ERRNO:
                return name, op, str(-ERRNO[match.group(2)] if match.group(1) else ERRNO[match.group(2)])
            return name, op, str(int(value, 10))
        if name in ARG_FIELDS:
            return name, op, f"0x{_strtoul(value):X}"
        if name in INT_FIELDS:
            return name, op, str(int(value, 10))
        if name == "filetype":
            return name, op, str(FILETYPES.get(value) or int(value, 10))
        if name == "perm":
            return name, op, normalise_perms(value)
        if name in PATH_FIELDS:
            return name, op, _strip_slash(value)
        if name == "msgtype":
            return name, op, value.upper()
    except ValueError as exc:
        if isinstance(exc, AuditRuleError):
            raise
        raise AuditRuleError(f"field {name}{op}{value}: {value!r} is not a valid value for {name}") from exc
    return name, op, value


@dataclass(frozen=True)
class Rule:
    """A rule in canonical form: two rules that the kernel treats alike compare equal.

    ``syscalls`` is None for "all syscalls" (and for every rule with a ``perm`` field,
    whose syscalls the perm's class decides); ``fields`` are sorted (the kernel ANDs them,
    their order does not matter); a watch (``-w PATH -p PERMS``) is the exit-list rule
    the kernel makes of it, with the path in a ``watch`` field so that ``-w /etc/x/``
    (a directory) and ``-a always,exit -F path=/etc/x -F perm=wa`` compare equal as
    ``auditctl -l`` shows them alike.
    """

    filter_list: str
    action: str
    arch: str | None
    syscalls: frozenset[str] | None
    fields: tuple[tuple[str, str, str], ...]
    keys: tuple[str, ...] = ()

    @property
    def is_watch(self) -> bool:
        return any(f[0] == "watch" for f in self.fields)

    def text(self) -> str:
        """The rule as ``auditctl -l`` would print it (watch form for watches)."""
        if self.is_watch:
            values = dict((f[0], f[2]) for f in self.fields)
            words = [f"-w {values['watch']}", f"-p {values['perm']}"]
            words += [f"-k {key}" for key in self.keys]
            return " ".join(words)
        words = [f"-a {self.action},{self.filter_list}"]
        if self.arch:
            words.append(f"-F arch={self.arch}")
        if self.filter_list in ("exit", "entry", "io_uring"):
            words.append("-S all" if self.syscalls is None else "-S " + ",".join(self._ordered_syscalls()))
        for name, op, value in self.fields:
            if value.startswith("C:"):
                words.append(f"-C {name}{op}{value[2:]}")
                continue
            shown = value
            if name == "exit" and value.startswith("-") and int(value[1:]) in _ERRNO_NAMES:
                shown = f"-{_ERRNO_NAMES[int(value[1:])]}"  # auditctl -l prints errno names
            words.append(f"-F {name}{op}{shown}")
        words += [f"-F key={key}" for key in self.keys]
        return " ".join(words)

    def _ordered_syscalls(self) -> list[str]:
        table = SYSCALLS[self.arch or "b64"]
        return sorted(self.syscalls or (), key=lambda n: (table.get(n, 1 << 20), n))


@dataclass
class ParsedLine:
    """One line of a rules file: a control (``-b 8192``) or a rule, with its source."""

    text: str
    control: tuple[str, str] | None = None
    rule: Rule | None = None
    prepend: bool = False
    source: str = ""


def _syscall_set(names: Sequence[str], arch: str | None) -> frozenset[str] | None:
    if not names or "all" in names:  # auditctl adds every syscall when a rule names none
        return None
    table = SYSCALLS[arch or "b64"]
    numbers = SYSCALL_NAMES[arch or "b64"]
    result: set[str] = set()
    for name in names:
        if re.fullmatch(r"\d+", name):
            result.add(numbers.get(int(name), name))
        elif name in table:
            result.add(name)
        elif name in AUDIT4_ONLY_SYSCALLS:
            raise AuditRuleError(
                f"syscall {name!r} is only known to audit 4.0 and later (Debian 13); "
                "Debian 12's auditctl refuses it"
            )
        else:
            raise AuditRuleError(f"syscall {name!r} does not exist on arch {arch or 'b64'}")
    return frozenset(result)


def parse_control(words: Sequence[str]) -> tuple[str, str]:
    """(option, value) of a control line; raises AuditRuleError for a bad one."""
    option = words[0]
    if option not in ALL_CONTROL_OPTIONS:
        raise AuditRuleError(f"unknown control option {option!r}")
    value = " ".join(words[1:])
    pattern = CONTROL_OPTIONS.get(option)
    if option in CONTROL_OPTIONS and (
        (pattern is None and value) or (pattern is not None and not pattern.match(value))
    ):
        raise AuditRuleError(f"bad value {value!r} for control {option}")
    return option, value


def parse_rule_line(  # noqa: PLR0912, PLR0915 - one branch per auditctl option
    line: str, resolve: IdResolver | None = None
) -> ParsedLine:
    """Parse one auditctl rule or control line into canonical form.

    Reads what rules files contain (``-a``/``-A``, ``-w`` with ``-p``/``-k``, ``-S``,
    ``-F``, ``-C``, ``-k``) and what ``auditctl -l`` prints (``-F key=``, ``-S all``,
    ``-F arch=``, ``-w path/``). Raises AuditRuleError naming the problem.
    """
    words = line.split()
    if not words:
        raise AuditRuleError("empty rule")
    if words[0] in ALL_CONTROL_OPTIONS:
        return ParsedLine(line.strip(), control=parse_control(words))
    action = list_name = arch = None
    watch: str | None = None
    perms: str | None = None
    syscalls: list[str] = []
    fields: list[tuple[str, str, str]] = []
    keys: list[str] = []
    prepend = False
    i = 0

    def value_of(option: str) -> str:
        if i + 1 >= len(words):
            raise AuditRuleError(f"option {option} needs a value")
        return words[i + 1]

    while i < len(words):
        word = words[i]
        if word in ("-a", "-A"):
            parts = value_of(word).split(",")
            if len(parts) != 2:
                raise AuditRuleError(f"{word} needs ACTION,LIST, got {value_of(word)!r}")
            found_list = [p for p in parts if p in LISTS]
            found_action = [p for p in parts if p in ACTIONS]
            if len(found_list) != 1 or len(found_action) != 1:
                raise AuditRuleError(f"{word} {value_of(word)}: expected one of always/never and one list")
            action, list_name, prepend = found_action[0], found_list[0], word == "-A"
        elif word == "-w":
            watch = _strip_slash(value_of(word))
        elif word == "-p":
            perms = normalise_perms(value_of(word))
        elif word == "-k":
            keys.append(value_of(word))
        elif word == "-S":
            syscalls.extend(s for s in value_of(word).split(",") if s)
        elif word == "-F":
            match = _FIELD_RE.match(value_of(word))
            if match is None:
                raise AuditRuleError(f"-F {value_of(word)}: not NAME OPERATOR VALUE")
            name, op, value = match.groups()
            if name == "arch":
                arch = normalise_arch(value)
            elif name == "key":
                keys.append(value)
            else:
                fields.append((name, op, value))
        elif word == "-C":
            match = _FIELD_RE.match(value_of(word))
            if match is None or match.group(2) not in ("=", "!="):
                raise AuditRuleError(f"-C {value_of(word)}: not FIELD=FIELD or FIELD!=FIELD")
            left, op, right = match.groups()
            if (right, left) in FIELD_COMPARISONS:
                left, right = right, left
            if (left, right) not in FIELD_COMPARISONS:
                raise AuditRuleError(f"-C {value_of(word)}: auditctl cannot compare {left} with {right}")
            fields.append((left, op, f"C:{right}"))
        else:
            raise AuditRuleError(f"unexpected word {word!r}")
        i += 2
    if watch is not None:
        if action is not None or syscalls or fields or arch:
            raise AuditRuleError("a -w watch cannot be combined with -a, -S or -F")
        canonical = [("perm", "=", perms or PERM_CHARS), ("watch", "=", watch)]
        return ParsedLine(
            line.strip(), rule=Rule("exit", "always", None, None, tuple(canonical), tuple(sorted(keys)))
        )
    if action is None or list_name is None:
        raise AuditRuleError("a rule needs -a ACTION,LIST or -w PATH")
    if perms is not None:
        raise AuditRuleError("-p only goes with -w; use -F perm= in a -a rule")
    if syscalls and list_name not in ("exit", "entry", "io_uring"):
        raise AuditRuleError(f"the {list_name} list takes no syscalls")
    syscall_set = _syscall_set(syscalls, arch) if list_name in ("exit", "entry", "io_uring") else None
    normalised = [f if f[2].startswith("C:") else normalise_field(f[0], f[1], f[2], resolve) for f in fields]
    names = {f[0] for f in normalised}
    if "perm" in names:
        # The kernel matches a perm= rule only on syscalls of the perm's class, and auditctl
        # 4.0 narrows the list itself: "-F path=/usr/bin/sudo -F perm=x" is listed with
        # "-S execve" (Debian 13). So a perm rule is the same rule whatever its -S says.
        syscall_set = None
    if (
        list_name == "exit"
        and action == "always"
        and arch is None
        and syscall_set is None
        and "perm" in names
        and names <= {"perm", "path", "dir"}
        and len(normalised) == 2
    ):
        # The kernel's watch: auditctl -l prints it as -w (auditctl-listing.c is_watch).
        normalised = [("watch", "=", f[2]) if f[0] in ("path", "dir") else f for f in normalised]
    return ParsedLine(
        line.strip(),
        rule=Rule(
            list_name,
            action,
            arch,
            syscall_set,
            tuple(sorted(normalised)),
            tuple(sorted(keys)),
        ),
        prepend=prepend,
    )


# ---------------------------------------------------------------------------
# Rendering rule dicts
# ---------------------------------------------------------------------------


def _describe(index: int, item: Any) -> str:
    if isinstance(item, Mapping):
        if "control" in item:
            return f"rule {index} (control {item.get('control')!r})"
        return f"rule {index} (key {item.get('key')!r})"
    return f"rule {index}"


def _check_key(key: Any) -> str:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise AuditRuleError(
            f"key {key!r} must be 1-31 letters, digits, '-' or '_' (auditd's key limit in this toolkit)"
        )
    if not KEY_PREFIX_RE.match(key):
        raise AuditRuleError(
            f"key {key!r} must start with the control ID it serves, such as AUD-02- "
            "(AUD, MON, NET, RAC, PAT, STO or ENC, a dash and two digits)"
        )
    return key


def _string_list(value: Any, what: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise AuditRuleError(f"{what} must be a string or a list of strings, got {value!r}")
    return list(value)


def _render_control(item: Mapping[str, Any]) -> tuple[str, str]:
    extra = set(item) - {"control"}
    if extra:
        raise AuditRuleError(f"a control takes no other keys, got {', '.join(sorted(extra))}")
    text = item["control"]
    if not isinstance(text, str) or not text.split():
        raise AuditRuleError(f"control must be a string such as '-b 8192', got {text!r}")
    words = text.split()
    if words[0] not in CONTROL_OPTIONS:
        raise AuditRuleError(
            f"control {words[0]!r} is not allowed; allowed: {', '.join(CONTROL_OPTIONS)} "
            "(-D belongs to the distribution's base rules file)"
        )
    option, value = parse_control(words)
    return option, f"{option} {value}".strip()


def _render_watch(item: Mapping[str, Any]) -> list[str]:
    extra = set(item) - {"watch", "perms", "key"}
    if extra:
        raise AuditRuleError(f"a watch takes watch, perms and key only, got {', '.join(sorted(extra))}")
    path = item["watch"]
    if not isinstance(path, str) or not path.startswith("/") or re.search(r"\s", path):
        raise AuditRuleError(f"watch must be an absolute path without blanks, got {path!r}")
    key = _check_key(item.get("key"))
    words = [f"-w {path}"]
    if item.get("perms") is not None:
        perms = item["perms"]
        if not isinstance(perms, str):
            raise AuditRuleError(f"perms must be a string of rwxa letters, got {perms!r}")
        words.append(f"-p {normalise_perms(perms)}")
    words.append(f"-k {key}")
    return [" ".join(words)]


def _render_fields(value: Any) -> list[str]:
    fields = _string_list(value, "fields") if value is not None else []
    for text in fields:
        match = _FIELD_RE.match(text)
        if match is None:
            raise AuditRuleError(
                f"field {text!r} is not NAME OPERATOR VALUE (operators: = != < > <= >= & &=)"
            )
        name, op, val = match.groups()
        if name in ("arch", "key"):
            raise AuditRuleError(f"field {text!r}: give {name} as the rule's own '{name}' entry")
        if name not in RULE_FIELDS:
            raise AuditRuleError(f"field {text!r}: unknown field name {name!r}")
        normalise_field(name, op, val)
    return fields


def _render_syscall_rule(item: Mapping[str, Any]) -> list[str]:  # noqa: PLR0912 - one check per key
    extra = set(item) - {"syscalls", "arch", "action", "list", "fields", "key"}
    if extra:
        raise AuditRuleError(f"unknown rule keys: {', '.join(sorted(extra))}")
    action = item.get("action", "always")
    list_name = item.get("list", "exit")
    if action not in ACTIONS:
        raise AuditRuleError(f"action must be always or never, got {action!r}")
    if list_name not in ("exit", "user", "exclude", "filesystem"):
        raise AuditRuleError(f"list must be exit, user, exclude or filesystem, got {list_name!r}")
    fields = _render_fields(item.get("fields"))
    key = item.get("key")
    if list_name != "exclude" or key is not None:
        key = _check_key(key)
    tail = "".join(f" -F {f}" for f in fields) + (f" -k {key}" if key else "")
    if list_name != "exit":
        if item.get("syscalls") or item.get("arch"):
            raise AuditRuleError(f"the {list_name} list takes no syscalls and no arch")
        return [f"-a {action},{list_name}{tail}"]
    arches = _string_list(item.get("arch", list(ARCHES)), "arch")
    if not arches:
        raise AuditRuleError("arch must name b64, b32 or both")
    arches = list(dict.fromkeys(normalise_arch(a) for a in arches))
    syscalls = _string_list(item["syscalls"], "syscalls") if item.get("syscalls") is not None else []
    syscalls = list(dict.fromkeys(syscalls))
    if "all" in syscalls and len(syscalls) > 1:
        raise AuditRuleError("syscalls: 'all' cannot be combined with names")
    for name in syscalls:
        if name == "all":
            continue
        if name in AUDIT4_ONLY_SYSCALLS:
            raise AuditRuleError(
                f"syscall {name!r} is only known to audit 4.0 and later (Debian 13); "
                "Debian 12's auditctl refuses it"
            )
        if not any(name in SYSCALLS[a] for a in ARCHES):
            raise AuditRuleError(f"unknown syscall {name!r} (not an x86_64 or i386 syscall)")
    lines = []
    for arch in arches:
        names = [n for n in syscalls if n == "all" or n in SYSCALLS[arch]]
        if syscalls and not names:
            continue  # nothing of this rule exists on this arch
        part = f" -S {','.join(names)}" if names and names != ["all"] else ""
        lines.append(f"-a {action},exit -F arch={arch}{part}{tail}")
    if not lines:
        raise AuditRuleError(
            f"none of its syscalls exists on {' or '.join(arches)} (e.g. i386 has socketcall, not accept): "
            "the rule would audit nothing"
        )
    return lines


def render_rule(item: Mapping[str, Any]) -> tuple[tuple[str, str] | None, list[str]]:
    """Render one rule dict: (control option and line, or None; rule lines)."""
    if not isinstance(item, Mapping):
        raise AuditRuleError(f"must be a dict, got {type(item).__name__}: {item!r}")
    if "control" in item:
        return _render_control(item), []
    if "watch" in item:
        return None, _render_watch(item)
    if "syscalls" in item or "fields" in item or "list" in item or "arch" in item:
        return None, _render_syscall_rule(item)
    raise AuditRuleError("must have one of: control, watch, syscalls or fields")


def render_rules(rules: Any) -> list[str]:
    """Render rule dicts to auditctl lines: controls first, then rules in input order.

    ``-e`` (enable/immutable) is rendered last, wherever it was given: after ``-e 2`` the
    kernel refuses every further rule, and augenrules moves it last anyway. A rule that
    becomes two lines (one per arch) keeps its place. Raises AuditRuleError naming the
    rule (its index and key) for any problem, including two rules the kernel would take
    for the same one (it refuses the second with "Rule exists").
    """
    if not isinstance(rules, (list, tuple)):
        raise AuditRuleError(f"rules must be a list of dicts, got {type(rules).__name__}")
    controls: dict[str, tuple[int, str]] = {}
    lines: list[tuple[int, str]] = []
    for index, item in enumerate(rules):
        try:
            control, rendered = render_rule(item)
        except AuditRuleError as exc:
            raise AuditRuleError(f"{_describe(index, item)}: {exc}") from exc
        if control is not None:
            option, text = control
            if option in controls:
                raise AuditRuleError(
                    f"{_describe(index, item)}: {option} is already set by rule {controls[option][0]}"
                )
            controls[option] = (index, text)
        lines.extend((index, line) for line in rendered)
    seen: dict[Rule, int] = {}
    for index, line in lines:
        rule = parse_rule_line(line).rule
        assert rule is not None
        if rule in seen and seen[rule] != index:
            raise AuditRuleError(
                f"{_describe(index, rules[index])}: the kernel would take {line!r} for the same rule as "
                f"rule {seen[rule]} and refuse it (Rule exists)"
            )
        if rule in seen:
            raise AuditRuleError(f"{_describe(index, rules[index])}: renders {line!r} twice")
        seen[rule] = index
    first = [text for option, (_i, text) in controls.items() if option != "-e"]
    last = [controls["-e"][1]] if "-e" in controls else []
    return first + [line for _i, line in lines] + last


# ---------------------------------------------------------------------------
# auditctl -l, augenrules, comparison
# ---------------------------------------------------------------------------


def parse_rule_list(text: str, resolve: IdResolver | None = None) -> list[ParsedLine]:
    """Parse ``auditctl -l`` stdout; ``No rules`` gives []. Raises AuditRuleError on garbage."""
    parsed: list[ParsedLine] = []
    for lineno, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line == "No rules":
            continue
        try:
            parsed.append(parse_rule_line(line, resolve))
        except AuditRuleError as exc:
            raise AuditRuleError(f"auditctl -l line {lineno} {line!r}: {exc}") from exc
    return parsed


def version_sort_key(name: str) -> list[tuple[int, int | str]]:
    """Sort key like ``ls -v`` (strverscmp): digit runs compare as numbers."""
    return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", name) if part]


@dataclass
class Assembled:
    """rules.d as augenrules --load puts it in the kernel."""

    lines: list[ParsedLine] = field(default_factory=list)
    controls: dict[str, ParsedLine] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def rules(self) -> list[ParsedLine]:
        """Rules in kernel order: per list, -A rules before -a rules (in file order)."""
        prepended = [p for p in self.lines if p.rule is not None and p.prepend]
        return [*reversed(prepended), *(p for p in self.lines if p.rule is not None and not p.prepend)]


def assemble_rules_d(files: Sequence[tuple[str, str]], resolve: IdResolver | None = None) -> Assembled:
    """Do what augenrules does with rules.d: ``files`` are (name, text) in any order.

    Files are read in ``ls -v`` order; comments and blank lines dropped; the last ``-D``
    without options, ``-b``, ``-f`` and ``-e`` win and move (``-D``, ``-b``, ``-f`` to
    the top, ``-e`` to the end); other controls run in place, so the last one wins.
    Lines this parser cannot read are listed in ``problems`` and left out.
    """
    result = Assembled()
    for name, text in sorted(files, key=lambda f: version_sort_key(f[0])):
        for lineno, raw in enumerate(text.splitlines(), start=1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            try:
                parsed = parse_rule_line(line, resolve)
            except AuditRuleError as exc:
                result.problems.append(f"{name} line {lineno} {line!r}: {exc}")
                continue
            parsed.source = f"{name}:{lineno}"
            if parsed.control is not None:
                option, value = parsed.control
                if option == "-D" and value:
                    result.problems.append(
                        f"{name} line {lineno} {line!r}: -D with options is not modelled; ignored"
                    )
                    continue
                result.controls[option] = parsed
            else:
                result.lines.append(parsed)
    return result


@dataclass
class Comparison:
    missing: list[str]
    unexpected: list[str]
    reordered: bool

    @property
    def differs(self) -> bool:
        return bool(self.missing or self.unexpected or self.reordered)


def compare_rules(desired: Sequence[ParsedLine], loaded: Sequence[ParsedLine]) -> Comparison:
    """Compare canonical rules: what is missing from the kernel, what it has extra, order.

    Order matters within one filter list - the kernel stops at the first rule that
    matches a syscall, and that rule's key is the one logged - but not across lists
    (exit, user, exclude, filesystem are separate lists). ``reordered`` is true when the
    rules both sides share are in a different order in some list.
    """
    want = Counter(p.rule for p in desired)
    have = Counter(p.rule for p in loaded)
    missing_counts = want - have
    unexpected_counts = have - want
    missing = []
    for p in desired:
        if missing_counts[p.rule] > 0:
            missing.append(p.text)
            missing_counts[p.rule] -= 1
    unexpected = []
    for p in loaded:
        if unexpected_counts[p.rule] > 0:
            unexpected.append(p.text)
            unexpected_counts[p.rule] -= 1
    reordered = False
    lists = {p.rule.filter_list for p in (*desired, *loaded) if p.rule is not None}
    for list_name in lists:
        common = want & have
        a = _common_sequence([p.rule for p in desired if p.rule and p.rule.filter_list == list_name], common)
        b = _common_sequence([p.rule for p in loaded if p.rule and p.rule.filter_list == list_name], common)
        if a != b:
            reordered = True
    return Comparison(missing, unexpected, reordered)


def _common_sequence(rules: list[Rule], common: Counter[Rule | None]) -> list[Rule]:
    left = Counter(common)
    out = []
    for rule in rules:
        if left[rule] > 0:
            out.append(rule)
            left[rule] -= 1
    return out


# ---------------------------------------------------------------------------
# auditctl -s and kernel refusals
# ---------------------------------------------------------------------------


def parse_status(text: str) -> dict[str, Any]:
    """Parse ``auditctl -s``: ``enabled 1`` lines to ints; loginuid_immutable to a dict.

    ``loginuid_immutable 1 locked`` gives ``{"value": 1, "locked": True}``. Lines that
    are not ``name value`` are ignored. Raises ValueError when ``enabled`` is missing.
    """
    status: dict[str, Any] = {}
    for raw in text.splitlines():
        words = raw.split()
        if len(words) < 2 or not re.fullmatch(r"[a-z_]+", words[0]):
            continue
        name = words[0]
        if name == "loginuid_immutable":
            status[name] = {"value": int(words[1]) if words[1].isdigit() else 0, "locked": "locked" in words}
        elif re.fullmatch(r"-?\d+", words[1]):
            status[name] = int(words[1])
        else:
            status[name] = words[1]
    if not isinstance(status.get("enabled"), int):
        raise ValueError(f"auditctl -s printed no 'enabled' line: {text.strip()[:200]!r}")
    return status


def control_in_effect(option: str, value: str, status: Mapping[str, Any]) -> bool | None:
    """Whether the kernel status already has a control; None when status cannot tell."""
    name = CONTROL_STATUS.get(option)
    if name is None or name not in status:
        return None
    current = status[name]
    if option == "--loginuid-immutable":
        return bool(current.get("value")) and bool(current.get("locked"))
    return str(current) == value


#: auditctl messages (stderr) that mean the kernel will not take audit requests from here.
_REFUSALS = (
    ("Operation not permitted", "container"),
    ("You must be root", "container"),
    ("Connection refused", "container"),
    ("Protocol not supported", "no_audit"),
    ("Cannot open netlink audit socket", "no_audit"),
)


def kernel_refusal(rc: int, stdout: str, stderr: str, euid: int) -> str | None:
    """Why auditctl failed if the kernel refused it, else None.

    ``"container"``: a process outside the initial PID (or user) namespace, or without
    CAP_AUDIT_CONTROL, as root: the kernel answers EPERM (ECONNREFUSED from a user
    namespace) and auditctl says "Operation not permitted", or - when the capability is
    missing - "You must be root to run this program." even to root (captured in podman on
    Debian 12 and 13). ``"no_audit"``: a kernel without audit support. A non-root caller
    gets None: that is a missing ``become``, not a container.
    """
    if rc == 0 or euid != 0:
        return None
    text = f"{stderr}\n{stdout}"
    for marker, reason in _REFUSALS:
        if marker in text:
            return reason
    return None


# ---------------------------------------------------------------------------
# Time specs
# ---------------------------------------------------------------------------

_DURATION_RE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_since(  # noqa: PLR0911 - one return per kind of spec
    spec: str | None, now: float, boot_time: float | None = None, tz: datetime.tzinfo | None = None
) -> float | None:
    """Start time (epoch seconds) of a ``since`` spec; None for everything.

    Accepts ``boot``; durations ``90s``/``30m``/``24h``/``7d``/``2w``; ausearch's
    keywords ``now``, ``recent`` (10 minutes), ``this-hour``, ``today``, ``yesterday``,
    ``this-week`` (from Sunday, as ausearch in a C locale), ``week-ago``,
    ``this-month``, ``this-year``; ``@EPOCH``; ``YYYY-MM-DD[ HH:MM[:SS]]`` (or with
    ``T``); ausearch's ``MM/DD/YYYY [HH:MM:SS]``. Local times use ``tz`` (default: the
    host's local zone). Raises ValueError for anything else.
    """
    if spec is None or spec.strip() in ("", "all"):
        return None
    text = spec.strip().lower()
    zone = tz or datetime.datetime.now().astimezone().tzinfo
    local_now = datetime.datetime.fromtimestamp(now, zone)
    midnight = local_now.replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "boot":
        if boot_time is None:
            raise ValueError("since=boot needs the boot time (/proc/stat btime)")
        return boot_time
    match = _DURATION_RE.match(text)
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    keywords: dict[str, Callable[[], datetime.datetime]] = {
        "now": lambda: local_now,
        "recent": lambda: local_now - datetime.timedelta(minutes=10),
        "this-hour": lambda: local_now.replace(minute=0, second=0, microsecond=0),
        "today": lambda: midnight,
        "yesterday": lambda: midnight - datetime.timedelta(days=1),
        "this-week": lambda: midnight - datetime.timedelta(days=(midnight.weekday() + 1) % 7),
        "week-ago": lambda: midnight - datetime.timedelta(days=7),
        "this-month": lambda: midnight.replace(day=1),
        "this-year": lambda: midnight.replace(month=1, day=1),
    }
    if text in keywords:
        return keywords[text]().timestamp()
    if re.fullmatch(r"@\d+(\.\d+)?", text):
        return float(text[1:])
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=zone).timestamp()
        except ValueError:
            continue
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y %H:%M:%S", "%m/%d/%y"):
        try:
            return datetime.datetime.strptime(text, fmt).replace(tzinfo=zone).timestamp()
        except ValueError:
            continue
    raise ValueError(
        f"since {spec!r} is not a time spec: use boot, today, yesterday, recent, this-week, "
        "week-ago, this-month, this-year, a duration such as 24h or 7d, @EPOCH, "
        "YYYY-MM-DD[ HH:MM[:SS]] or MM/DD/YYYY[ HH:MM:SS]"
    )


def iso_utc(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    stamp = datetime.datetime.fromtimestamp(epoch, datetime.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------------------
# The audit log
# ---------------------------------------------------------------------------

#: Record types that only add detail to the event of another record (its SYSCALL, AVC ...).
AUXILIARY_TYPES = [
    "PATH",
    "CWD",
    "PROCTITLE",
    "EXECVE",
    "SOCKADDR",
    "BPRM_FCAPS",
    "CAPSET",
    "MMAP",
    "FD_PAIR",
    "OBJ_PID",
    "EOE",
    "IPC",
    "IPC_SET_PERM",
    "MQ_OPEN",
    "MQ_SENDRECV",
    "MQ_NOTIFY",
    "MQ_GETSETATTR",
    "KERN_MODULE",
    "OPENAT2",
    "TIME_INJOFFSET",
    "TIME_ADJNTPVAL",
    "SOCKETCALL",
    "URINGOP",
]
_AUXILIARY = frozenset(AUXILIARY_TYPES)
# A record: optional node=, type=, msg=audit(SECONDS.MS:SERIAL):, and something after it
# (EOE records have a blank; a line cut right after its header is malformed).
_HEAD_RE = re.compile(r"(?:node=(\S+) )?type=(\S+) msg=audit\((\d+\.\d+):(\d+)\):(.+)")
_PAIR_RE = re.compile(r"([A-Za-z0-9_-]+)=(\"[^\"]*\"|'[^']*'|\S*)")
_HEX_RE = re.compile(r"^(?:[0-9A-F]{2})+$")

#: Fields that audit writes hex-encoded when they hold blanks, quotes or control characters.
HEX_FIELDS = frozenset(
    {"acct", "exe", "comm", "cwd", "name", "key", "cmd", "proctitle", "path", "data", "old", "new"}
)
FAILED_LOGIN_TYPES = frozenset({"USER_LOGIN", "USER_AUTH", "USER_ERR"})
IDENTITY_TYPES = frozenset(
    {
        "ADD_USER",
        "DEL_USER",
        "ADD_GROUP",
        "DEL_GROUP",
        "USER_CHAUTHTOK",
        "GRP_CHAUTHTOK",
        "USER_MGMT",
        "GRP_MGMT",
        "CHUSER_ID",
        "CHGRP_ID",
        "ACCT_LOCK",
        "ACCT_UNLOCK",
        "ROLE_ASSIGN",
        "ROLE_REMOVE",
        "ROLE_MODIFY",
    }
)
POLICY_TYPES = frozenset({"CONFIG_CHANGE", "USYS_CONFIG", "FEATURE_CHANGE"})
RESTART_TYPES = frozenset({"SYSTEM_BOOT", "SYSTEM_SHUTDOWN", "SYSTEM_RUNLEVEL"})
REBOOT_UNITS = frozenset(
    {"systemd-reboot", "systemd-poweroff", "systemd-halt", "systemd-kexec", "systemd-soft-reboot"}
)
APPARMOR_POLICY_OPS = frozenset({"profile_load", "profile_replace", "profile_remove"})
#: Record types kept for classification; the rest only mark their event as present.
_KEPT = (
    FAILED_LOGIN_TYPES
    | IDENTITY_TYPES
    | POLICY_TYPES
    | RESTART_TYPES
    | {"SERVICE_START", "SERVICE_STOP", "USER_CMD", "AVC"}
)
#: Events are closed once this many records have passed without one of theirs.
EVENT_WINDOW = 4096


def decode_value(name: str, value: str) -> str | None:
    """An audit field value as text: quotes stripped, hex decoded; None for ``?``/``(null)``."""
    if value.startswith('"') and value.endswith('"') and len(value) >= 2:
        return value[1:-1]
    if value in ("?", "(null)", "(none)", ""):
        return None
    if name in HEX_FIELDS and _HEX_RE.match(value):
        return bytes.fromhex(value).decode("utf-8", "replace")
    return value


def raw_fields(text: str) -> dict[str, str]:
    """``name=value`` pairs of a record body, values as written (see :func:`decode_value`).

    The ``msg='...'`` of user-space records is opened and its pairs added: they describe
    the event (acct, addr, res ...) and win over the outer ones.
    """
    fields = dict(_PAIR_RE.findall(text))
    inner = fields.get("msg")
    if inner is not None and inner.startswith("'"):
        fields.update(_PAIR_RE.findall(inner[1:-1]))
    return fields


def parse_fields(text: str) -> dict[str, str | None]:
    """:func:`raw_fields` with every value decoded."""
    return {name: decode_value(name, value) for name, value in raw_fields(text).items()}


def _inner_fields(body: str) -> dict[str, str]:
    """The pairs inside ``msg='...'`` only: all a login record needs, parsed faster."""
    at = body.find(" msg='")
    if at < 0:
        return raw_fields(body)
    return dict(_PAIR_RE.findall(body, at + 6, body.rfind("'")))


def _field(fields: Mapping[str, str], name: str) -> str | None:
    value = fields.get(name)
    return None if value is None else decode_value(name, value)


def split_keys(value: str | None) -> list[str]:
    """A rule's key field: several keys are joined with 0x01 (and hex-encoded)."""
    if not value:
        return []
    return [k for k in value.split("\x01") if k]


def _bump(counter: dict[str, int], name: str, by: int = 1) -> None:
    counter[name] = counter.get(name, 0) + by


def _top(counter: Mapping[str, int]) -> dict[str, int]:
    """Counts sorted by count (descending), then name: stable output for reports and diffs."""
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))


class _Event:
    __slots__ = ("actor", "keys", "records", "stamp", "success")

    def __init__(self, stamp: str) -> None:
        self.stamp = stamp  # "SECONDS.MILLISECONDS" as written; float() only when counted
        self.keys: list[str] = []
        self.success: str | None = None
        self.actor: tuple[str | None, str] = (None, "")
        self.records: list[tuple[str, str, str]] = []


def _new_summary() -> dict[str, Any]:
    return {
        "events": 0,
        "records": 0,
        "malformed_lines": 0,
        "skipped_events": 0,
        "failed_logins": {"total": 0, "by_user": {}, "by_source": {}, "by_type": {}},
        "successful_logins": {"total": 0, "by_user": {}, "by_source": {}},
        "identity_changes": {"total": 0, "failed": 0, "by_type": {}, "by_actor": {}, "by_account": {}},
        "policy_changes": {"total": 0, "failed": 0, "by_type": {}, "by_actor": {}},
        "restarts": {"total": 0, "boots": 0, "shutdowns": 0, "by_type": {}},
        "privileged_commands": {"total": 0, "failed": 0, "by_user": {}},
        "keys": {},
    }


class LogSummariser:
    """Summarise raw audit log lines (AUD-08): feed lines, then call :meth:`result`.

    Records are grouped into events by ``(node, serial)`` of ``msg=audit(TS:SERIAL)``;
    records of one event may be interleaved with other events' records. Auxiliary
    records (:data:`AUXILIARY_TYPES`: PATH, CWD, PROCTITLE, EOE ...) only add detail to
    the event of their SYSCALL or other main record, so they are counted as records but
    make no event of their own. An event is counted once (when ``EVENT_WINDOW`` lines
    have passed without one of its records, or at the end), and only if its time is at
    or after ``since``. Lines that are not audit records (garbage, a line cut off before
    or right after its header) are counted in ``malformed_lines`` and otherwise ignored.

    What an event counts as:

    * failed login: a USER_LOGIN, USER_AUTH or USER_ERR record with ``res=failed``;
      by user (``acct``, else the enriched ``ID``, else ``id``), by source (``addr``,
      else ``hostname``, else ``local``) and by record type. sshd writes USER_AUTH and
      USER_LOGIN for one failed password, so these are audit events, not attempts;
    * successful login: USER_LOGIN with ``res=success``;
    * identity change: ADD_USER, DEL_USER, ADD_GROUP, DEL_GROUP, USER_CHAUTHTOK,
      GRP_CHAUTHTOK, USER_MGMT, GRP_MGMT, CHUSER_ID, CHGRP_ID, ACCT_LOCK/UNLOCK,
      ROLE_*, or a syscall whose rule key starts with AUD-03;
    * policy change: CONFIG_CHANGE, USYS_CONFIG, FEATURE_CHANGE, any MAC_* record, an
      AppArmor profile load/replace/remove, or a rule key starting with AUD-04;
    * restart: SYSTEM_BOOT, SYSTEM_SHUTDOWN, SYSTEM_RUNLEVEL, SERVICE_START/STOP of
      systemd-reboot/poweroff/halt/kexec/soft-reboot, or a key starting with AUD-05;
    * privileged command: USER_CMD (sudo), by user, with failures;
    * keys: each key of the event's SYSCALL record, with success/failure from its
      ``success=``. CONFIG_CHANGE records name a rule's key too, but they are changes to
      the rule, counted as policy changes, not hits of it (aureport -k counts both).
    """

    def __init__(
        self,
        since: float | None = None,
        keys_prefix: Sequence[str] = (),
        uid_name: Callable[[str], str | None] | None = None,
        window: int = EVENT_WINDOW,
    ) -> None:
        self.since = since
        self.keys_prefix = tuple(keys_prefix)
        self.uid_name = uid_name
        self.window = window
        self.summary = _new_summary()
        self.start: float | None = None
        self.end: float | None = None
        self._current: dict[tuple[str | None, str], _Event] = {}
        self._previous: dict[tuple[str | None, str], _Event] = {}
        self._since_flush = 0

    # -- reading ---------------------------------------------------------------

    def feed(self, lines: Iterable[str]) -> None:
        """Read audit log lines (with or without their newline), e.g. an open log file.

        Split text with ``split("\\n")``, not ``splitlines()``: that also splits at the
        0x1D separator of ENRICHED records.
        """
        head_match = _HEAD_RE.match
        current = self._current
        previous = self._previous
        kept = _KEPT
        records = malformed = 0
        since_flush = self._since_flush
        window = self.window
        for line in lines:
            if since_flush >= window:
                self._rotate()
                current, previous = self._current, self._previous
                since_flush = 0
            since_flush += 1
            head = head_match(line)
            if head is None:
                if line.strip():
                    malformed += 1
                continue
            records += 1
            node, rtype, stamp, serial, body = head.groups()
            if rtype in _AUXILIARY:
                continue  # only adds detail to its SYSCALL's (or AVC's ...) event
            ident = (node, serial)
            event = current.get(ident)
            if event is None:
                event = previous.pop(ident, None)
                if event is None:
                    event = _Event(stamp)
                current[ident] = event
            if rtype == "SYSCALL":
                self._syscall(event, body)
            elif rtype in kept or rtype.startswith("MAC_"):
                raw, _gs, enriched = body.partition("\x1d")
                event.records.append((rtype, raw, enriched))
        self.summary["records"] += records
        self.summary["malformed_lines"] += malformed
        self._since_flush = since_flush

    def _syscall(self, event: _Event, text: str) -> None:
        body, _gs, enriched = text.partition("\x1d")
        at = body.find(" success=")
        if at >= 0:
            end = body.find(" ", at + 9)
            event.success = body[at + 9 : end if end >= 0 else None].strip()
        at = body.rfind(" key=")
        if at >= 0:
            value = body[at + 5 :].split(" ", 1)[0].strip()
            event.keys = split_keys(decode_value("key", value))
            if event.keys:
                at = body.find(" auid=")
                auid = body[at + 6 :].split(" ", 1)[0] if at >= 0 else None
                event.actor = (auid, enriched)

    def _rotate(self) -> None:
        for event in self._previous.values():
            self._finish(event)
        self._previous = self._current
        self._current = {}

    # -- counting --------------------------------------------------------------

    def _finish(self, event: _Event) -> None:  # noqa: PLR0912, PLR0915 - one branch per category
        summary = self.summary
        ts = float(event.stamp)
        if self.since is not None and ts < self.since:
            summary["skipped_events"] += 1
            return
        summary["events"] += 1
        if self.start is None or ts < self.start:
            self.start = ts
        if self.end is None or ts > self.end:
            self.end = ts
        if not event.keys and not event.records:
            return
        categories: set[str] = set()
        for key in event.keys:
            if key.startswith("AUD-03"):
                categories.add("identity")
            elif key.startswith("AUD-04"):
                categories.add("policy")
            elif key.startswith("AUD-05"):
                categories.add("restart")
            if not self.keys_prefix or key.startswith(self.keys_prefix):
                counts = summary["keys"].setdefault(key, {"total": 0, "success": 0, "failure": 0})
                counts["total"] += 1
                counts["failure" if event.success == "no" else "success"] += 1
        identity_type = policy_type = restart_type = None
        for rtype, body, enriched in event.records:
            fields = _inner_fields(body) if rtype in FAILED_LOGIN_TYPES else raw_fields(body)
            result = fields.get("res")
            failed = result in ("failed", "0", "no")
            if rtype in FAILED_LOGIN_TYPES and result == "failed":
                self._login(summary["failed_logins"], fields, enriched)
                _bump(summary["failed_logins"]["by_type"], rtype)
            elif rtype == "USER_LOGIN" and result == "success":
                self._login(summary["successful_logins"], fields, enriched)
            elif rtype in IDENTITY_TYPES:
                identity_type = identity_type or rtype
                part = summary["identity_changes"]
                part["failed"] += failed
                _bump(part["by_actor"], self._actor(fields, enriched))
                _bump(part["by_account"], _field(fields, "acct") or "?")
            elif rtype in POLICY_TYPES or rtype.startswith("MAC_"):
                policy_type = policy_type or rtype
                summary["policy_changes"]["failed"] += failed
                _bump(summary["policy_changes"]["by_actor"], self._actor(fields, enriched))
            elif rtype == "AVC" and fields.get("apparmor") == '"STATUS"':
                if _field(fields, "operation") in APPARMOR_POLICY_OPS:
                    policy_type = policy_type or "APPARMOR_STATUS"
                    _bump(summary["policy_changes"]["by_actor"], self._actor(fields, enriched))
            elif rtype in RESTART_TYPES:
                restart_type = restart_type or rtype
            elif rtype in ("SERVICE_START", "SERVICE_STOP"):
                if (_field(fields, "unit") or "").removesuffix(".service") in REBOOT_UNITS:
                    restart_type = restart_type or rtype
            elif rtype == "USER_CMD":
                part = summary["privileged_commands"]
                part["total"] += 1
                part["failed"] += failed
                _bump(part["by_user"], self._actor(fields, enriched))
        if categories and not (identity_type or policy_type):
            actor = self._actor({"auid": event.actor[0]}, event.actor[1])
            for name in ("identity", "policy"):
                if name in categories:
                    _bump(summary[f"{name}_changes"]["by_actor"], actor)
        if identity_type or "identity" in categories:
            part = summary["identity_changes"]
            part["total"] += 1
            _bump(part["by_type"], identity_type or "key:" + _first(event.keys, "AUD-03"))
        if policy_type or "policy" in categories:
            part = summary["policy_changes"]
            part["total"] += 1
            _bump(part["by_type"], policy_type or "key:" + _first(event.keys, "AUD-04"))
        if restart_type or "restart" in categories:
            part = summary["restarts"]
            part["total"] += 1
            part["boots"] += restart_type == "SYSTEM_BOOT"
            part["shutdowns"] += restart_type == "SYSTEM_SHUTDOWN"
            _bump(part["by_type"], restart_type or "key:" + _first(event.keys, "AUD-05"))

    def _name(self, uid: str | None) -> str | None:
        if uid is None or uid == str(UNSET_ID) or uid == "-1":
            return None
        if self.uid_name is not None and uid.isdigit():
            return self.uid_name(uid) or f"uid {uid}"
        return f"uid {uid}" if uid.isdigit() else uid

    def _actor(self, fields: Mapping[str, str | None], enriched: str) -> str:
        """Who did it: the login user (auid) by its enriched name, else resolved, else uid."""
        auid = _field(raw_fields(enriched), "AUID") if enriched else None
        if auid and auid != "unset":
            return auid
        return self._name(fields.get("auid")) or self._name(fields.get("uid")) or "unset"

    def _login(self, part: dict[str, Any], fields: Mapping[str, str], enriched: str) -> None:
        user = _field(fields, "acct")
        if not user or user == "?":
            named = _field(raw_fields(enriched), "ID") if enriched else None
            user = named or self._name(fields.get("id")) or user or "?"
        source = _field(fields, "addr") or _field(fields, "hostname") or "local"
        part["total"] += 1
        _bump(part["by_user"], user)
        _bump(part["by_source"], source)

    def result(self, files: Sequence[str] = ()) -> dict[str, Any]:
        """Close every open event and return the summary (a fresh copy, sorted counts)."""
        for event in [*self._previous.values(), *self._current.values()]:
            self._finish(event)
        self._previous, self._current = {}, {}
        summary = self.summary
        for part in ("failed_logins", "successful_logins", "identity_changes", "policy_changes"):
            for name, value in summary[part].items():
                if isinstance(value, dict):
                    summary[part][name] = _top(value)
        summary["restarts"]["by_type"] = _top(summary["restarts"]["by_type"])
        summary["privileged_commands"]["by_user"] = _top(summary["privileged_commands"]["by_user"])
        summary["keys"] = dict(sorted(summary["keys"].items()))
        summary["range"] = {
            "start": iso_utc(self.start),
            "end": iso_utc(self.end),
            "start_epoch": self.start,
            "end_epoch": self.end,
        }
        summary["since"] = iso_utc(self.since)
        summary["files"] = list(files)
        return summary


def _first(keys: Sequence[str], prefix: str) -> str:
    return next((k for k in keys if k.startswith(prefix)), keys[0] if keys else "?")


def summarise_log(
    lines: Iterable[str],
    since: float | None = None,
    keys_prefix: Sequence[str] = (),
    uid_name: Callable[[str], str | None] | None = None,
) -> dict[str, Any]:
    """One-shot :class:`LogSummariser` over ``lines``."""
    summariser = LogSummariser(since=since, keys_prefix=keys_prefix, uid_name=uid_name)
    summariser.feed(lines)
    return summariser.result()


def rotated_logs(log_file: str, names: Iterable[str]) -> list[str]:
    """The log and its rotations among ``names`` (a directory listing), oldest first:
    ``audit.log.3``, ``audit.log.2``, ``audit.log.1``, ``audit.log``."""
    base = log_file.rsplit("/", 1)[-1]
    directory = log_file[: -len(base)]
    rotated = []
    for name in names:
        if name.startswith(base + ".") and name[len(base) + 1 :].isdigit():
            rotated.append((int(name[len(base) + 1 :]), name))
    ordered = [directory + name for _n, name in sorted(rotated, reverse=True)]
    return [*ordered, log_file] if base in names else ordered
