#!/usr/bin/python3
"""Groups a `perf script` of a hivehook-etl -> PostgreSQL load by subsystem (issue 18's profile,
docs/performance.md "Into PostgreSQL: the remaining distance").
  perf record -a -e cpu-clock -F 499 --call-graph dwarf,16384 -o perf.data -- \
      bench/etl/pg_profile.py ... --out prof          # writes prof.json with the pid -> role map
  perf script --comms postgres,hivehook-etl -F comm,pid,tid,ip,sym,dso > perf.txt
  bench/etl/perf_groups.py perf.txt prof.json out.json
A sample counts as "kernel: page faults" when its kernel stack has a page-fault frame, else by its
system call, else by the first frame (leaf upwards) that matches a subsystem's pattern; percentages
are exclusive, of the backends' and of the client's samples apart.
"""
import json, re, sys, collections
txt, prof = sys.argv[1], sys.argv[2]
roles = json.load(open(prof))["roles"]
samples = []
cur = None
for line in open(txt):
    if not line.strip():
        if cur: samples.append(cur); cur = None
        continue
    if not line.startswith("\t") and not line.startswith(" "):
        comm, pt = line.split()[:2]
        cur = (comm, pt.split("/")[0], [])
    else:
        parts = line.strip().split(None, 1)
        sym = parts[1].rsplit(" (", 1)[0] if len(parts) > 1 else "?"
        cur[2].append(sym)
if cur: samples.append(cur)

def syscall_name(fr):
    for f in fr:
        m = re.match(r"__(?:x64|se)_sys_(\w+)", f)
        if m: return m.group(1)
    return "?"

# leaf-upward operation categories (first match wins)
OPS = [
 ("JIT (LLVM)", r"^llvm|LLVM|^jit_|^llvm_compile|^\[JIT\]"),
 ("WAL insert (XLogInsert, CRC)", r"^XLogInsert|^CopyXLogRecordToWAL|^XLogRecordAssemble|^pg_comp_crc32c|^ReserveXLog|^WALInsertLock|^XLogRegister|^GetXLogBuffer|^AdvanceXLInsertBuffer"),
 ("WAL write/flush (XLogWrite/XLogFlush)", r"^XLogWrite|^XLogFlush|^issue_xlog_fsync|^XLogBackgroundFlush"),
 ("btree (_bt_*)", r"^_bt_|^bt|^index_insert|^index_getnext|^index_fetch|^btinsert|^btgettuple"),
 ("heap insert (heap_insert, RelationGetBufferForTuple, PageAddItem)", r"^heap_insert|^heap_multi_insert|^RelationGetBufferForTuple|^PageAddItem|^heap_prepare_insert|^table_tuple_insert|^heapam_tuple_insert"),
 ("heap update", r"^heap_update|^heapam_tuple_update|^ExecUpdate"),
 ("heap visibility/fetch/scan/prune", r"^HeapTupleSatisfies|^heap_hot_search|^heap_page_prune|^heapgetpage|^heap_getnext|^heapam_index_fetch|^heap_fetch|^heapgettup|^SeqNext|^heap_prune"),
 ("TOAST/detoast (snapshot blob)", r"toast|^detoast|^heap_tuple_fetch_attr|^pg_detoast"),
 ("COPY input (parse, *recv)", r"^NextCopyFrom|^CopyRead|^ReceiveFunctionCall|recv$|^pq_getmsg|^CopyGetData|^CopyFrom"),
 ("hash join/agg/tuple hash", r"^ExecHashJoin|^ExecScanHashBucket|^ExecHash|^MultiExecHash|^FindTupleHashEntry|^LookupTupleHash|^BuildTupleHash|^hash_bytes|^ExecAgg|^agg_|^lookup_hash|^hashtext|^hash_any"),
 ("sort/materialize (tuplesort, tuplestore, temp files)", r"^tuplesort|^tuplestore|^qsort|^pg_qsort|^BufFile|^ExecSort|^ExecMaterial|^ExecWindow|^ExecCteScan|^ExecUnique|^comparetup|^mergeruns|^dumptuples"),
 ("buffer manager / locks", r"^ReadBuffer|^BufferAlloc|^StrategyGetBuffer|^LWLock|^PinBuffer|^UnpinBuffer|^MarkBufferDirty|^LockBuffer|^FlushBuffer|^LocalBufferAlloc|^hash_search|^BufTable|^ReleaseBuffer"),
 ("tuple form/deform, expressions", r"^heap_form|^heap_fill|^heap_compute|^slot_|^ExecInterp|^ExecEval|^tts_|^ExecStore|^ExecProject|^ExecQual|^heap_deform|^ExecCopySlot|^varstr_cmp|^bttextcmp|^texteq|^numeric|^timestamp|^Datum|^FunctionCall|^ExecScan"),
 ("planning/parse/catalog", r"^planner|^standard_planner|^subquery_planner|^parse_analyze|^raw_parser|^pg_analyze|^pg_plan|^SearchCatCache|^RelationBuild|^RelationIdGetRelation|^CatalogCache|^systable|^InitCatCache|^RelationCacheInit|^LookupOpclass|^get_op"),
 ("backend start-up (InitPostgres, fork)", r"^InitPostgres|^BackendStartup|^BackendInitialize|^InitProcess|^InitPostgres|^fork|^_Fork|^ProcessStartupPacket"),
 ("executor other", r"^Exec|^standard_Executor|^Executor"),
 ("memory (palloc etc)", r"^palloc|^pfree|^AllocSet|^MemoryContext|^repalloc|^malloc|^free|^_int_|^cfree"),
 ("send results to client (pq_*)", r"^pq_|^internal_flush|^secure_write|^printtup"),
]
OPS = [(n, re.compile(p)) for n, p in OPS]
PHASE = [
 ("backend start-up/exit", r"^InitPostgres|^BackendStartup|^BackendInitialize|^proc_exit|^shmem_exit|^ProcessStartupPacket|^PerformAuthentication|^InitProcess"),
 ("COMMIT (incl. XLogFlush)", r"^CommitTransaction$|^RecordTransactionCommit|^CommitTransactionCommand"),
 ("COPY into staging", r"^CopyFrom|^DoCopy"),
 ("planning", r"^pg_plan_queries|^planner|^pg_analyze_and_rewrite|^pg_parse_query"),
 ("executor (statements)", r"^ProcessQuery|^PortalRun|^standard_ExecutorRun|^ExecutorRun|^ProcessUtility"),
]
PHASE = [(n, re.compile(p)) for n, p in PHASE]
def kernel_cat(fr):
    kf = [f for f in fr if f and (f.startswith(("__x64_sys", "do_syscall", "entry_SYSCALL", "asm_exc", "exc_page_fault", "handle_mm_fault", "do_user_addr_fault", "ret_from_fork", "schedule", "pvm", "__raw_callee_save_pvm", "asm_sysvec", "sysvec", "irq"))) ]
    for f in fr:
        if "page_fault" in f or f in ("handle_mm_fault", "do_user_addr_fault"): return "kernel: page faults"
    for f in fr:
        if f.startswith("entry_SYSCALL") or f == "do_syscall_64":
            n = syscall_name(fr)
            if n in ("fdatasync", "fsync", "sync_file_range"): return "kernel: fsync/fdatasync"
            if n in ("pwrite64", "write", "pwritev", "writev"): return "kernel: write/pwrite"
            if n in ("pread64", "read", "preadv"): return "kernel: read/pread"
            if n in ("sendto", "recvfrom", "send", "recv", "epoll_wait", "poll", "select"): return "kernel: socket/epoll"
            if n in ("exit_group", "exit"): return "kernel: process exit"
            if n in ("clone", "clone3", "fork", "vfork", "execve"): return "kernel: fork/exec"
            if n in ("mmap", "munmap", "mremap", "brk", "madvise", "mprotect"): return "kernel: mmap/brk"
            if n in ("openat", "close", "unlink", "unlinkat", "ftruncate", "fallocate", "newfstatat", "lseek", "fstat", "statx"): return "kernel: open/close/unlink/stat/lseek"
            return "kernel: other syscall " + n
    return None
def is_kernel_leaf(fr):
    return fr and (fr[0].startswith(("pvm", "__raw_callee", "native_", "clear_page", "copy_", "_raw", "asm_", "exc_")) )

def classify(fr):
    k = kernel_cat(fr)
    if k: return k
    # kernel interrupt/ scheduler samples with no syscall
    if fr and any(f.startswith(("asm_sysvec", "ret_from_fork", "schedule")) for f in fr[:6]):
        if not any(f.startswith(("__x64_sys",)) for f in fr):
            pass
    for f in fr:
        for n, rx in OPS:
            if rx.search(f): return n
    return "other: " + (fr[0] if fr else "?")

def phase(fr):
    for f in reversed(fr):  # root first... want the most specific phase: scan leaf up
        pass
    for f in fr:
        for n, rx in PHASE:
            if rx.search(f): return n
    return "other"

by = collections.defaultdict(collections.Counter)
ph = collections.defaultdict(collections.Counter)
for comm, pid, fr in samples:
    r = roles.get(pid, ("?",))[0] if comm == "postgres" else comm
    if r == "postmaster": r = "backend"
    if comm == "postgres" and r == "?": r = "backend?(unmapped)"
    by[r][classify(fr)] += 1
    ph[r][phase(fr)] += 1
for r, c in sorted(by.items(), key=lambda t: -sum(t[1].values())):
    tot = sum(c.values())
    print(f"\n== {r}: {tot} samples ({tot/499:.2f} s at 499 Hz)")
    for k, v in c.most_common(40):
        if v / tot >= 0.004: print(f"  {100*v/tot:5.1f}%  {k}")
    print("  -- phases:", ", ".join(f"{k} {100*v/tot:.1f}%" for k, v in ph[r].most_common()))
