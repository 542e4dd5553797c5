// Package tcpproxy is a TCP proxy for tests that puts a network fault
// between a client and its server: Blackhole makes the server stop
// answering while every connection stays open, as a network partition, a
// stopped server or a firewall that drops packets does. Nothing is closed
// and nothing is refused, so a client learns of the fault only from its
// own timeouts.
package tcpproxy

import (
	"net"
	"sync"
	"testing"
)

// Proxy forwards connections from its address to a target.
type Proxy struct {
	ln     net.Listener
	target string
	wg     sync.WaitGroup

	mu        sync.Mutex
	blackhole bool
	pairs     map[*pair]struct{} // nil once closed
}

// pair is one client connection and its upstream (nil when the connection
// came during a blackhole: it never reaches the server).
type pair struct {
	client, upstream net.Conn
	held             bool // silent for good: bytes either way are dropped
}

// Start listens on a loopback port, forwards every connection to target,
// and closes everything when tb ends.
func Start(tb testing.TB, target string) *Proxy {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("tcpproxy: listen: %v", err)
	}
	p := &Proxy{ln: ln, target: target, pairs: map[*pair]struct{}{}}
	p.wg.Go(p.serve)
	tb.Cleanup(p.Close)
	return p
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Blackhole makes every connection, open now or made later, silent: bytes
// sent either way are dropped, nothing is closed, new connections are
// accepted and never reach the target.
func (p *Proxy) Blackhole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = true
	for pr := range p.pairs {
		pr.held = true
	}
}

// Restore lets new connections through again. The connections the
// blackhole held stay silent until Close, as after a partition that
// outlived the connection state of a firewall or a NAT on the way: only a
// client that gives up on them recovers.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.blackhole = false
}

// Held counts the connections the blackhole holds.
func (p *Proxy) Held() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for pr := range p.pairs {
		if pr.held {
			n++
		}
	}
	return n
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines. It may be called more than once.
func (p *Proxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for pr := range p.pairs {
		pr.close()
	}
	p.pairs = nil
	p.mu.Unlock()
	p.wg.Wait()
}

func (pr *pair) close() {
	_ = pr.client.Close()
	if pr.upstream != nil {
		_ = pr.upstream.Close()
	}
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		pr := &pair{client: c}
		p.mu.Lock()
		pr.held = p.blackhole
		p.mu.Unlock()
		if !pr.held {
			if pr.upstream, err = net.Dial("tcp", p.target); err != nil {
				_ = c.Close()
				continue
			}
		}
		if !p.track(pr) {
			return
		}
		p.wg.Go(func() { p.pipe(pr, pr.client, pr.upstream) })
		if pr.upstream != nil {
			p.wg.Go(func() { p.pipe(pr, pr.upstream, pr.client) })
		}
	}
}

// track records pr; false (and closes it) once the proxy is closed.
func (p *Proxy) track(pr *pair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pairs == nil {
		pr.close()
		return false
	}
	p.pairs[pr] = struct{}{}
	return true
}

// pipe copies src to dst (dst nil: nowhere) until either closes, dropping
// what it reads while pr is held.
func (p *Proxy) pipe(pr *pair, src, dst net.Conn) {
	defer p.untrack(pr)
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && dst != nil && !p.isHeld(pr) {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) isHeld(pr *pair) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return pr.held
}

// untrack closes pr once one side ended (a held pair is never ended by
// the proxy, only by its client or Close).
func (p *Proxy) untrack(pr *pair) {
	pr.close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.pairs != nil {
		delete(p.pairs, pr)
	}
}
