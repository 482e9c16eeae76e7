// Package delayproxy is a TCP proxy that adds a fixed one-way delay to
// every byte it forwards, in both directions, without limiting bandwidth.
//
// It stands in for `tc qdisc add dev lo root netem delay 10ms` where the
// kernel has no netem (the benchmark VM answers "Specified qdisc kind is
// unknown"). Each direction of a connection is a delay line: a reader
// timestamps every chunk it reads and queues it, and a writer releases each
// chunk Delay after it was read. Many chunks are in flight at once, so a
// stream is delayed but not slowed: throughput is that of the undelayed path
// as long as the queue (QueueBytes per direction) holds a bandwidth-delay
// product. A sleep per write would instead serialise the stream and cap it
// at one chunk per Delay.
//
// What it does not model: the TCP handshake is not delayed (the client's
// connect returns at once; its first bytes then wait Delay like any other),
// and the two loopback legs' congestion control never sees the delay, so
// there is no slow start over a long path. Request/response round trips,
// which is what parallel uploads are meant to hide, are delayed by 2×Delay.
package delayproxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// DefaultQueueBytes bounds the bytes queued in one direction of one
// connection. 64 MiB per 10 ms is 6.4 GB/s, far above what loopback S3 or
// SFTP reach here, so the queue never throttles a measured stream.
const DefaultQueueBytes = 64 << 20

// chunkSize is the largest read; a chunk is released as a whole.
const chunkSize = 64 << 10

// Proxy forwards connections accepted on its listener to Target, each byte
// Delay later than it arrived.
type Proxy struct {
	// Target is the address connected to for each accepted connection.
	Target string
	// Delay is added to each direction (a round trip gains 2×Delay).
	Delay time.Duration
	// QueueBytes bounds the bytes in flight per direction; 0 means
	// DefaultQueueBytes.
	QueueBytes int

	ln net.Listener
	// bufs recycles chunk buffers: without it a gigabyte through the
	// proxy is a gigabyte of garbage, and the collector's CPU is taken
	// from the tools being measured on a 2-core machine.
	bufs  sync.Pool
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns map[net.Conn]struct{}
	done  chan struct{}
}

// Start listens on listenAddr ("127.0.0.1:0" picks a free port) and
// forwards to target with delay added each way. Close stops it.
func Start(ctx context.Context, listenAddr, target string, delay time.Duration) (*Proxy, error) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", listenAddr)
	if err != nil {
		return nil, fmt.Errorf("delay proxy to %s: %w", target, err)
	}
	p := &Proxy{Target: target, Delay: delay, ln: ln, conns: map[net.Conn]struct{}{}, done: make(chan struct{})}
	p.bufs.New = func() any { return new([chunkSize]byte) }
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the address clients connect to.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Close stops accepting, closes every open connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	close(p.done)
	err := p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return err
}

func (p *Proxy) track(c net.Conn, add bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if add {
		select {
		case <-p.done:
			return false
		default:
		}
		p.conns[c] = struct{}{}
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return // closed
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(c)
		}()
	}
}

// handle forwards one connection until both directions have ended.
func (p *Proxy) handle(client net.Conn) {
	if !p.track(client, true) {
		client.Close()
		return
	}
	defer p.track(client, false)
	defer client.Close()
	server, err := net.Dial("tcp", p.Target)
	if err != nil {
		return
	}
	if !p.track(server, true) {
		server.Close()
		return
	}
	defer p.track(server, false)
	defer server.Close()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); p.pipe(server, client) }()
	go func() { defer wg.Done(); p.pipe(client, server) }()
	wg.Wait()
}

// chunk is a piece of the stream and when it may be written.
type chunk struct {
	buf *[chunkSize]byte
	n   int
	due time.Time
}

// pipe copies src to dst through a delay line. When src ends, dst's write
// side is closed once everything read has been delivered (a half close, as
// HTTP and SSH clients expect); on a write error src is closed so the
// reader stops.
func (p *Proxy) pipe(dst, src net.Conn) {
	limit := p.QueueBytes
	if limit <= 0 {
		limit = DefaultQueueBytes
	}
	// The channel's capacity bounds the chunks in flight, so the bytes
	// too: a full line blocks the reader, which is TCP's back pressure.
	q := make(chan chunk, limit/chunkSize+1)
	go func() {
		defer close(q)
		for {
			buf := p.bufs.Get().(*[chunkSize]byte)
			n, err := src.Read(buf[:])
			if n > 0 {
				select {
				case q <- chunk{buf: buf, n: n, due: time.Now().Add(p.Delay)}:
				case <-p.done:
					return
				}
			} else {
				p.bufs.Put(buf)
			}
			if err != nil {
				return
			}
		}
	}()
	failed := false
	for c := range q {
		if failed {
			p.bufs.Put(c.buf)
			continue // drain so the reader can finish
		}
		if d := time.Until(c.due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-p.done:
				t.Stop()
				failed = true
				src.Close()
				p.bufs.Put(c.buf)
				continue
			}
		}
		_, err := dst.Write(c.buf[:c.n])
		p.bufs.Put(c.buf)
		if err != nil {
			failed = true
			src.Close()
		}
	}
	if cw, ok := dst.(interface{ CloseWrite() error }); ok && !failed {
		if err := cw.CloseWrite(); err != nil && !errors.Is(err, net.ErrClosed) {
			dst.Close()
		}
	} else {
		dst.Close()
	}
}
