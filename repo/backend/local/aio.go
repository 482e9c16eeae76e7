package local

import (
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// asyncIO hands a pack's direct write and the fsyncs of a save to the
// kernel's asynchronous I/O (io_submit) and waits for them on an eventfd,
// through the runtime's network poller.
//
// Why: a goroutine blocked in a plain write or fsync keeps its P (the
// runtime's right to run Go code) until the scheduler's monitor notices
// and takes it back, which on a busy process takes up to milliseconds. A
// 4 MiB pack's O_DIRECT write and its two fsyncs take 7-9 ms each on the
// benchmark VM, so on 2 cores a first backup ran one core short for about
// a quarter of its time, with goroutines ready to run (bench/README.md,
// issue 16: 1.1 s of iowait in a 4 s backup, all of it Ps held by these
// calls). A goroutine waiting on the poller holds no P.
//
// Only what cannot block in io_submit is submitted: an fsync (the kernel
// runs it on a worker), and a direct write into space fallocate reserved
// beforehand (a direct write that extends a file is done synchronously
// inside io_submit on ext4, which would gain nothing). Everything else, and
// every kernel or file system that refuses (no AIO in a container's
// seccomp profile, no AIO fsync before Linux 4.18, no fallocate), takes
// the plain system call, as before.
type asyncIO struct {
	ctx    uintptr  // aio_context_t
	efd    *os.File // eventfd, non-blocking: read through the poller
	efdNum int      // its descriptor (efd.Fd would make it blocking)

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]*aioOp
	reaping bool // a reap goroutine is running
	closed  bool
	gone    bool // ctx and efd released

	noFsync atomic.Bool // an fsync was refused: sync directly from now on

	writes, syncs atomic.Int64 // operations completed through the kernel's AIO (tests)
}

// iocb is the kernel's struct iocb (include/uapi/linux/aio_abi.h). key and
// rwFlags swap places on big-endian machines; both are always zero here.
type iocb struct {
	data      uint64
	key       uint32
	rwFlags   int32
	opcode    uint16
	reqprio   int16
	fildes    uint32
	buf       uint64
	nbytes    uint64
	offset    int64
	reserved2 uint64
	flags     uint32
	resfd     uint32
}

// ioEvent is the kernel's struct io_event.
type ioEvent struct {
	data uint64
	obj  uint64
	res  int64
	res2 int64
}

const (
	iocbCmdPwrite = 1
	iocbCmdFsync  = 2
	iocbFlagResfd = 1 << 0

	// aioEvents bounds the operations in flight on one backend. A backup
	// has a few (the upload slots and the packs waiting for their
	// fsyncs); io_submit answers EAGAIN beyond it, and that call then
	// takes the plain path.
	aioEvents = 32
)

// errNoAsync means the operation was not submitted; the caller does it
// with the plain system call.
var errNoAsync = errors.New("asynchronous I/O not available")

type aioOp struct {
	done chan int64
	buf  []byte // kept reachable while the kernel writes from it
}

// newAsyncIO sets up an AIO context and its eventfd, or returns nil where
// the kernel refuses.
func newAsyncIO() *asyncIO {
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEvents, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		_, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0)
		return nil
	}
	return &asyncIO{ctx: ctx, efd: os.NewFile(uintptr(fd), "aio eventfd"), efdNum: fd, waiting: map[uint64]*aioOp{}}
}

// submit queues cb and returns the operation to wait on, or errNoAsync.
func (a *asyncIO) submit(cb *iocb, buf []byte) (*aioOp, error) {
	op := &aioOp{done: make(chan int64, 1), buf: buf}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, errNoAsync
	}
	a.next++
	id := a.next
	cb.data = id
	cb.flags |= iocbFlagResfd
	cb.resfd = uint32(a.efdNum)
	// Registered before the submit: the completion may be reaped at once.
	a.waiting[id] = op
	start := !a.reaping
	a.reaping = true
	a.mu.Unlock()
	if start {
		go a.reap()
	}

	cbs := [1]*iocb{cb}
	var e unix.Errno
	for {
		_, _, e = unix.Syscall(unix.SYS_IO_SUBMIT, a.ctx, 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e != unix.EINTR {
			break
		}
	}
	if e != 0 {
		a.mu.Lock()
		delete(a.waiting, id)
		a.mu.Unlock()
		// The reaper ends by itself once nothing is waiting; it may be
		// parked on the eventfd for another operation meanwhile.
		a.wake()
		if e == unix.EINVAL && cb.opcode == iocbCmdFsync {
			a.noFsync.Store(true)
		}
		return nil, errNoAsync
	}
	return op, nil
}

// wake makes a reaper parked on the eventfd look at the waiting set again.
func (a *asyncIO) wake() {
	var one [8]byte
	*(*uint64)(unsafe.Pointer(&one[0])) = 1
	_, _ = a.efd.Write(one[:])
}

// wait returns the operation's result: bytes written, or -errno.
func (op *aioOp) wait() int64 {
	res := <-op.done
	op.buf = nil
	return res
}

// reap delivers completions until nothing is waiting. It runs only while
// operations are in flight, so an idle backend holds no goroutine.
func (a *asyncIO) reap() {
	var cnt [8]byte
	events := make([]ioEvent, 16)
	var zero unix.Timespec
	for {
		a.mu.Lock()
		if len(a.waiting) == 0 {
			a.reaping = false
			if a.closed {
				a.release()
			}
			a.mu.Unlock()
			return
		}
		a.mu.Unlock()
		if _, err := a.efd.Read(cnt[:]); err != nil {
			// Not expected: the eventfd is closed only when nothing
			// waits. Fail the waiters rather than hang them.
			a.mu.Lock()
			for id, op := range a.waiting {
				op.done <- -int64(unix.EIO)
				delete(a.waiting, id)
			}
			a.mu.Unlock()
			continue
		}
		for {
			n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, a.ctx, 0, uintptr(len(events)),
				uintptr(unsafe.Pointer(&events[0])), uintptr(unsafe.Pointer(&zero)), 0)
			if e == unix.EINTR {
				continue
			}
			if e != 0 || n == 0 {
				break
			}
			a.mu.Lock()
			for _, ev := range events[:n] {
				if op, ok := a.waiting[ev.data]; ok {
					delete(a.waiting, ev.data)
					op.done <- ev.res
				}
			}
			a.mu.Unlock()
			if int(n) < len(events) {
				break
			}
		}
	}
}

// pwrite writes p at off with one asynchronous write; fd must be open with
// O_DIRECT and its blocks reserved (fallocate). It has pwrite's signature
// for writeDirectWith.
func (a *asyncIO) pwrite(fd int, p []byte, off int64) (int, error) {
	cb := &iocb{opcode: iocbCmdPwrite, fildes: uint32(fd), buf: uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))),
		nbytes: uint64(len(p)), offset: off}
	op, err := a.submit(cb, p)
	if err != nil {
		return unix.Pwrite(fd, p, off)
	}
	res := op.wait()
	a.writes.Add(1)
	if res < 0 {
		return 0, unix.Errno(-res)
	}
	return int(res), nil
}

// fsync makes fd's data and metadata durable, as fsync(2). f is kept open
// by the caller until it returns.
func (a *asyncIO) fsync(f *os.File) error {
	if !a.noFsync.Load() {
		op, err := a.submit(&iocb{opcode: iocbCmdFsync, fildes: uint32(f.Fd())}, nil)
		if err == nil {
			res := op.wait()
			a.syncs.Add(1)
			if res < 0 {
				return &os.PathError{Op: "sync", Path: f.Name(), Err: unix.Errno(-res)}
			}
			return nil
		}
	}
	return f.Sync()
}

// close releases the context once nothing is in flight; later operations
// take the plain path.
func (a *asyncIO) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if !a.reaping {
		a.release()
	}
}

// release destroys the context and closes the eventfd; a.mu is held.
func (a *asyncIO) release() {
	if a.gone {
		return
	}
	a.gone = true
	_, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, a.ctx, 0, 0)
	_ = a.efd.Close()
}
