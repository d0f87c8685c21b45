package dashboard

import (
	"slices"
	"testing"
)

func TestRing(t *testing.T) {
	r := NewRing[int](3)
	if r.Len() != 0 || r.Cap() != 3 || len(r.Values()) != 0 {
		t.Fatalf("empty ring: len %d cap %d values %v", r.Len(), r.Cap(), r.Values())
	}
	if _, ok := r.Last(); ok {
		t.Fatal("Last of an empty ring is ok")
	}
	for i, want := range [][]int{{1}, {1, 2}, {1, 2, 3}, {2, 3, 4}, {3, 4, 5}, {4, 5, 6}, {5, 6, 7}} {
		r.Push(i + 1)
		if got := r.Values(); !slices.Equal(got, want) {
			t.Fatalf("after pushing 1..%d: %v, want %v", i+1, got, want)
		}
		if l, ok := r.Last(); !ok || l != i+1 {
			t.Fatalf("Last after pushing %d: %d %v", i+1, l, ok)
		}
		if r.Len() != len(want) {
			t.Fatalf("Len %d, want %d", r.Len(), len(want))
		}
	}
	v := r.Values()
	v[0] = 99
	if r.Values()[0] == 99 {
		t.Fatal("Values shares the ring's memory")
	}
	one := NewRing[string](0)
	one.Push("a")
	one.Push("b")
	if got := one.Values(); !slices.Equal(got, []string{"b"}) || one.Cap() != 1 {
		t.Fatalf("NewRing(0) holds %v (cap %d), want [b] (cap 1)", got, one.Cap())
	}
}
