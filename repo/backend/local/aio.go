package local

import (
	"encoding/binary"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"time"
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
// Only what does not wait for the disk inside io_submit is submitted: an
// fsync (the kernel runs it on a worker), and a direct write into space
// fallocate reserved beforehand (a direct write that extends a file is
// done synchronously inside io_submit on ext4, which would gain nothing).
// Everything else, and every kernel or file system that refuses (no AIO,
// a seccomp profile without it, no AIO fsync before Linux 4.18, no
// fallocate, a full ring), takes the plain system call, as before.
//
// The kernel context counts against the machine's fs.aio-max-nr, which
// databases with native AIO share: it is set up when an operation needs
// it and given back after idleTimeout without one, so a server that keeps
// many repositories open holds contexts only for those being written.
type asyncIO struct {
	efd    *os.File // eventfd, non-blocking: read through the poller
	efdNum int      // its descriptor, for the iocbs

	mu      sync.Mutex
	ctx     uintptr // aio_context_t; 0 when none is set up
	next    uint64
	waiting map[uint64]*aioOp
	reaping bool        // a reap goroutine is running
	idle    *time.Timer // gives the context back after idleAfter
	closed  bool

	idleAfter time.Duration // idleTimeout; shorter in tests

	off     atomic.Bool // io_submit itself is refused (ENOSYS, EPERM): plain calls from now on
	noFsync atomic.Bool // an fsync was refused: sync directly from now on

	writes, syncs atomic.Int64 // operations completed through the kernel's AIO (tests)
	setups        atomic.Int64 // contexts set up (tests)
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

	// aioEvents is the context's size. A backup has a few operations in
	// flight (the upload slots and the packs waiting for their fsyncs);
	// the kernel makes the ring larger than asked, and a submit that
	// finds it full (EAGAIN) takes the plain call.
	aioEvents = 32
)

// idleTimeout is how long a context outlives its last operation: long
// enough that a backup keeps one context from its first pack to its last,
// short enough that an idle process holds none.
const idleTimeout = 5 * time.Second

// errNoAsync means the operation was not submitted; the caller does it
// with the plain system call.
var errNoAsync = errors.New("asynchronous I/O not available")

type aioOp struct {
	done chan int64
	buf  []byte // kept reachable while the kernel writes from it
}

// newAsyncIO makes the eventfd completions are signalled on and checks
// that the kernel gives this process an AIO context; it returns nil
// where either is refused.
func newAsyncIO() *asyncIO {
	var ctx uintptr
	if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEvents, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
		return nil
	}
	fd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		destroyContext(ctx)
		return nil
	}
	efd := os.NewFile(uintptr(fd), "aio eventfd")
	// Only a descriptor the poller took can be waited on without a
	// thread; os.NewFile keeps one it could not register (epoll limits)
	// as a plain non-blocking file, whose reads fail with EAGAIN.
	if err := efd.SetReadDeadline(time.Time{}); err != nil {
		_ = efd.Close()
		destroyContext(ctx)
		return nil
	}
	a := &asyncIO{efd: efd, efdNum: fd, ctx: ctx, waiting: map[uint64]*aioOp{}, idleAfter: idleTimeout}
	a.setups.Add(1)
	return a
}

func destroyContext(ctx uintptr) { _, _, _ = unix.Syscall(unix.SYS_IO_DESTROY, ctx, 0, 0) }

// submit queues cb and returns the operation to wait on, or errNoAsync.
func (a *asyncIO) submit(cb *iocb, buf []byte) (*aioOp, error) {
	if a.off.Load() {
		return nil, errNoAsync
	}
	op := &aioOp{done: make(chan int64, 1), buf: buf}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return nil, errNoAsync
	}
	if a.ctx == 0 {
		var ctx uintptr
		if _, _, e := unix.Syscall(unix.SYS_IO_SETUP, aioEvents, uintptr(unsafe.Pointer(&ctx)), 0); e != 0 {
			a.mu.Unlock()
			return nil, errNoAsync // EAGAIN: the machine's contexts are taken
		}
		a.ctx = ctx
		a.setups.Add(1)
	}
	if a.idle != nil {
		a.idle.Stop()
	}
	a.next++
	id := a.next
	cb.data = id
	cb.flags |= iocbFlagResfd
	cb.resfd = uint32(a.efdNum)
	// Registered before the submit: the completion may be reaped at once.
	// While anything is registered the context stays (see reap).
	a.waiting[id] = op
	ctx := a.ctx
	start := !a.reaping
	a.reaping = true
	a.mu.Unlock()
	if start {
		go a.reap()
	}

	cbs := [1]*iocb{cb}
	var n uintptr
	var e unix.Errno
	for {
		n, _, e = unix.Syscall(unix.SYS_IO_SUBMIT, ctx, 1, uintptr(unsafe.Pointer(&cbs[0])))
		if e != unix.EINTR {
			break
		}
	}
	if e == 0 && n == 1 {
		return op, nil
	}
	a.mu.Lock()
	delete(a.waiting, id)
	a.mu.Unlock()
	// A reaper parked on the eventfd for this operation alone must look
	// at the waiting set again, or it would wait for ever.
	a.wake()
	switch e {
	case unix.ENOSYS, unix.EPERM:
		a.off.Store(true)
	case unix.EINVAL:
		if cb.opcode == iocbCmdFsync {
			a.noFsync.Store(true)
		}
	}
	return nil, errNoAsync
}

// wake makes a reaper parked on the eventfd look at the waiting set again.
func (a *asyncIO) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.efd != nil { // nil once released: then no reaper waits
		_, _ = a.efd.Write(one[:])
	}
}

// wait returns the operation's result: bytes written, or -errno.
func (op *aioOp) wait() int64 {
	res := <-op.done
	op.buf = nil
	return res
}

// reap delivers completions until nothing is waiting. It runs only while
// operations are in flight, so an idle backend holds no goroutine; when it
// ends it arms the timer that gives the context back.
func (a *asyncIO) reap() {
	var cnt [8]byte
	events := make([]ioEvent, 16)
	var zero unix.Timespec
	slow := unix.NsecToTimespec(int64(100 * time.Millisecond))
	for {
		a.mu.Lock()
		if len(a.waiting) == 0 {
			a.reaping = false
			if a.closed {
				a.release()
			} else if a.idle == nil {
				a.idle = time.AfterFunc(a.idleAfter, a.idleRelease)
			} else {
				a.idle.Reset(a.idleAfter)
			}
			a.mu.Unlock()
			return
		}
		ctx := a.ctx
		a.mu.Unlock()
		timeout := &zero
		if _, err := a.efd.Read(cnt[:]); err != nil {
			// Not expected (the eventfd stays open while anything
			// waits). The kernel still owns the operations and their
			// buffers: wait for them in io_getevents itself, holding a
			// thread, rather than make up their results; a while at a
			// time, so that an operation whose submit failed meanwhile
			// does not keep the reaper waiting for ever.
			timeout = &slow
		}
		for {
			minNr := uintptr(0)
			if timeout == &slow {
				minNr = 1
			}
			n, _, e := unix.Syscall6(unix.SYS_IO_GETEVENTS, ctx, minNr, uintptr(len(events)),
				uintptr(unsafe.Pointer(&events[0])), uintptr(unsafe.Pointer(timeout)), 0)
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

// idleRelease gives the context back if no operation came since the timer
// was armed.
func (a *asyncIO) idleRelease() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if !a.reaping && len(a.waiting) == 0 && a.ctx != 0 {
		destroyContext(a.ctx)
		a.ctx = 0
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

// fsync makes f's data and metadata durable, as fsync(2). The caller keeps
// f open until it returns.
func (a *asyncIO) fsync(f *os.File) error {
	if !a.noFsync.Load() {
		op, err := a.submit(&iocb{opcode: iocbCmdFsync, fildes: uint32(f.Fd())}, nil)
		if err == nil {
			res := op.wait()
			a.syncs.Add(1)
			switch {
			case res == -int64(unix.EINTR):
				// f.Sync retries EINTR; so does the plain call below.
			case res < 0:
				return &os.PathError{Op: "sync", Path: f.Name(), Err: unix.Errno(-res)}
			default:
				return nil
			}
		}
	}
	return f.Sync()
}

// close releases the context and the eventfd once nothing is in flight;
// later operations take the plain calls.
func (a *asyncIO) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
	if !a.reaping {
		a.release()
	}
}

// release destroys the context and closes the eventfd; a.mu is held and
// nothing is in flight.
func (a *asyncIO) release() {
	if a.idle != nil {
		a.idle.Stop()
	}
	if a.ctx != 0 {
		destroyContext(a.ctx)
		a.ctx = 0
	}
	if a.efd != nil {
		_ = a.efd.Close()
		a.efd = nil
	}
}
