package dashboard

// Ring keeps the last N values pushed, oldest first. The zero Ring holds
// nothing; make one with NewRing. It is not safe for concurrent use: the
// Sampler guards its rings.
type Ring[T any] struct {
	buf  []T
	next int // where the next value goes
	full bool
}

// NewRing returns a Ring of capacity n (at least 1).
func NewRing[T any](n int) *Ring[T] {
	return &Ring[T]{buf: make([]T, max(n, 1))}
}

// Push adds v, dropping the oldest value when the ring is full.
func (r *Ring[T]) Push(v T) {
	r.buf[r.next] = v
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

// Len is how many values the ring holds.
func (r *Ring[T]) Len() int {
	if r.full {
		return len(r.buf)
	}
	return r.next
}

// Cap is the most values the ring holds.
func (r *Ring[T]) Cap() int { return len(r.buf) }

// Values returns a copy of the values, oldest first.
func (r *Ring[T]) Values() []T {
	out := make([]T, 0, r.Len())
	if r.full {
		out = append(out, r.buf[r.next:]...)
	}
	return append(out, r.buf[:r.next]...)
}

// Last returns the newest value, or false when the ring is empty.
func (r *Ring[T]) Last() (T, bool) {
	var zero T
	if r.Len() == 0 {
		return zero, false
	}
	i := r.next - 1
	if i < 0 {
		i = len(r.buf) - 1
	}
	return r.buf[i], true
}
