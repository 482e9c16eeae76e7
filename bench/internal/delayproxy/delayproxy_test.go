package delayproxy

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every connection with the SHA-256 of all it read,
// then the bytes themselves, then closes: a reply only possible after the
// client's half close has come through the proxy.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, err := io.ReadAll(c)
				if err != nil {
					return
				}
				sum := sha256.Sum256(b)
				c.Write(sum[:])
				c.Write(b)
			}()
		}
	}()
	return ln.Addr().String()
}

func startProxy(t *testing.T, target string, delay time.Duration) *Proxy {
	t.Helper()
	p, err := Start(context.Background(), "127.0.0.1:0", target, delay)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestBytesBothWays sends 8 MiB of random bytes through the proxy on
// several connections at once and checks that the server saw exactly them
// and the client got exactly the server's reply.
func TestBytesBothWays(t *testing.T) {
	p := startProxy(t, echoServer(t), 2*time.Millisecond)
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		go func() {
			errs <- func() error {
				data := make([]byte, 8<<20+i*777)
				rand.Read(data)
				c, err := net.Dial("tcp", p.Addr())
				if err != nil {
					return err
				}
				defer c.Close()
				go func() {
					c.Write(data)
					c.(*net.TCPConn).CloseWrite()
				}()
				got, err := io.ReadAll(c)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(data)
				want := append(sum[:], data...)
				if !bytes.Equal(got, want) {
					t.Errorf("connection %d: got %d bytes, want %d (or they differ)", i, len(got), len(want))
				}
				return nil
			}()
		}()
	}
	for i := 0; i < 4; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

// TestRoundTripDelayed checks the lower bound, which no scheduling can
// break: a request and its answer take at least twice the one-way delay.
func TestRoundTripDelayed(t *testing.T) {
	const delay = 15 * time.Millisecond
	p := startProxy(t, echoServer(t), delay)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	c.Write([]byte("ping"))
	c.(*net.TCPConn).CloseWrite()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if rtt := time.Since(start); rtt < 2*delay {
		t.Errorf("round trip took %v, want at least %v", rtt, 2*delay)
	}
	if !bytes.Equal(got[32:], []byte("ping")) {
		t.Errorf("got %q", got[32:])
	}
}

// TestCloseEndsConnections: Close returns with connections still open and
// their clients see the end of the stream.
func TestCloseEndsConnections(t *testing.T) {
	p, err := Start(context.Background(), "127.0.0.1:0", echoServer(t), time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("half a request"))
	time.Sleep(20 * time.Millisecond) // let the proxy accept and dial
	p.Close()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// EOF, or a reset if the proxy had unread bytes; not a timeout.
	if _, err := io.ReadAll(c); err != nil {
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("reading after Close: %v (want the end of the stream)", err)
		}
	}
}

// BenchmarkThroughput streams 64 MiB through the proxy without delay and
// through a 10 ms delay line: the two rates should be close, and far above
// one 64 KiB chunk per 10 ms (6.5 MB/s).
func BenchmarkThroughput(b *testing.B) {
	for _, d := range []time.Duration{0, 10 * time.Millisecond} {
		b.Run(d.String(), func(b *testing.B) { benchThroughput(b, d) })
	}
}

func benchThroughput(b *testing.B, delay time.Duration) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Write([]byte{1}); c.Close() }()
		}
	}()
	p, err := Start(context.Background(), "127.0.0.1:0", ln.Addr().String(), delay)
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	buf := make([]byte, 1<<20)
	b.SetBytes(int64(len(buf)) * 64)
	for b.Loop() {
		c, err := net.Dial("tcp", p.Addr())
		if err != nil {
			b.Fatal(err)
		}
		for j := 0; j < 64; j++ {
			c.Write(buf)
		}
		// The server acknowledges after it has read everything, so the
		// time includes the delay line, not just filling its queue.
		c.(*net.TCPConn).CloseWrite()
		io.ReadAll(c)
		c.Close()
	}
}
