package freeport

import (
	"net"
	"strconv"
	"testing"
)

func TestPickIsFreeAndInRange(t *testing.T) {
	seen := map[int]bool{}
	for range 50 {
		p := T(t)
		if p < Low || p >= High {
			t.Fatalf("port %d outside [%d, %d)", p, Low, High)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("picked port %d cannot be bound: %v", p, err)
		}
		l.Close()
		seen[p] = true
	}
	if len(seen) != 50 {
		t.Errorf("50 picks gave %d distinct ports: a port was handed out twice", len(seen))
	}
}

func TestPickSkipsABoundPort(t *testing.T) {
	// Hold a port whose neighbour is free, so a range of the two has exactly
	// one port to give.
	var held net.Listener
	other := 0
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		h := l.Addr().(*net.TCPAddr).Port
		if h+1 < 65536 && free(h+1) && !given.m[h+1] {
			held, other = l, h+1
			break
		}
		l.Close()
	}
	if held == nil {
		t.Fatal("no held port with a free neighbour in 100 tries")
	}
	defer held.Close()
	low := other - 1
	p, err := pick(low, low+2)
	if err != nil {
		t.Fatalf("pick(%d, %d) with %d held: %v", low, low+2, low, err)
	}
	if p != other {
		t.Fatalf("pick returned %d; want %d (port %d is held by this test)", p, other, low)
	}
	// The other port is now handed out: a second pick of the range has none left.
	if p, err := pick(low, low+2); err == nil {
		t.Fatalf("second pick(%d, %d) returned %d; want an error (one port held, the other handed out)", low, low+2, p)
	}
}

func TestPickReportsAFullRange(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	h := held.Addr().(*net.TCPAddr).Port
	if _, err := pick(h, h+1); err == nil {
		t.Fatalf("pick of a one-port range whose port %d is held returned no error", h)
	}
}
