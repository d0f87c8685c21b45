// Package freeport picks loopback TCP ports for tests, benchmarks and the
// local test cluster.
//
// A port taken from 127.0.0.1:0 and closed again comes from the kernel's
// ephemeral range (32768–60999 on Linux), the same range from which every
// outgoing connection on the machine draws its source port: between the close
// and the moment the caller binds it, a neighbour (another package's load
// generator, a client connection) may take it. Ports below that range are
// never handed out as source ports, so Pick draws from 20000–31999 and checks
// that the port is free on loopback.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Low and High bound the range Pick draws from (High excluded): below Linux's
// default ephemeral range and above the ports services commonly take.
const (
	Low  = 20000
	High = 32000
)

// given holds the ports this process was handed, so that two picks never
// return the same port even before the first one is bound.
var given = struct {
	sync.Mutex
	m map[int]bool
}{m: map[int]bool{}}

// Pick returns a port in [Low, High) that nothing listens on (loopback or all
// interfaces) and that no earlier Pick in this process returned. Packages
// tested in parallel are separate processes: two of them can draw the same
// port, one chance in about 12,000 per pair of draws.
func Pick() (int, error) { return pick(Low, High) }

func pick(low, high int) (int, error) {
	given.Lock()
	defer given.Unlock()
	for range 1000 {
		p := low + rand.IntN(high-low)
		if given.m[p] {
			continue
		}
		if free(p) {
			given.m[p] = true
			return p, nil
		}
	}
	return 0, fmt.Errorf("no free loopback port in %d–%d after 1000 tries: too many listeners on this machine?", low, high-1)
}

// free tells whether nothing listens on port p, on loopback or on all
// interfaces (engines and Docker's published ports bind 0.0.0.0; on macOS a
// loopback bind can succeed beside them).
func free(p int) bool {
	for _, host := range []string{"127.0.0.1", ""} {
		l, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// T is Pick for tests and benchmarks: it fails tb when no port is free.
func T(tb testing.TB) int {
	tb.Helper()
	p, err := Pick()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}
