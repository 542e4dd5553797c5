package tcpproxy

import (
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// echo serves an echo server until the test ends and returns its address.
func echo(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// roundTrip writes a line and reports whether it came back within 300ms;
// a timeout is false, a closed connection fails the test.
func roundTrip(t *testing.T, c net.Conn) bool {
	t.Helper()
	if _, err := c.Write([]byte("ping\n")); err != nil {
		t.Fatalf("write: %v", err)
	}
	_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	buf := make([]byte, 5)
	_, err := io.ReadFull(c, buf)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return false
	}
	if err != nil {
		t.Fatalf("read: %v (the connection must stay open)", err)
	}
	return string(buf) == "ping\n"
}

func TestBlackholeHoldsConnectionsOpenAndSilent(t *testing.T) {
	p := Start(t, echo(t))
	before := dial(t, p.Addr())
	if !roundTrip(t, before) {
		t.Fatal("no echo through the proxy")
	}
	p.Blackhole()
	during := dial(t, p.Addr()) // accepted: the dial succeeds
	if roundTrip(t, before) || roundTrip(t, during) {
		t.Fatal("an answer came through the blackhole")
	}
	if n := p.Held(); n != 2 {
		t.Fatalf("held %d connections, want 2", n)
	}
	p.Restore()
	if after := dial(t, p.Addr()); !roundTrip(t, after) {
		t.Fatal("a new connection gets no echo after Restore")
	}
	if roundTrip(t, before) || roundTrip(t, during) {
		t.Fatal("a held connection answered after Restore")
	}
	p.Close()
	_ = before.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := before.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read after Close: %v, want the connection closed", err)
	}
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
