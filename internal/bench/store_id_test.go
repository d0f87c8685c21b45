package bench

import (
	"testing"
	"time"
)

// Two results of one profile in one second both stay stored.
func TestSaveNeverReplaces(t *testing.T) {
	s := Store{Dir: t.TempDir()}
	now := time.Date(2026, 12, 7, 4, 15, 0, 0, time.UTC)
	var ids []string
	for range 3 {
		r := &Result{ID: NewID(now, "medium"), Profile: "medium"}
		if _, err := s.Save(r); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	want := []string{"20261207T041500Z-medium", "20261207T041500Z-medium-2", "20261207T041500Z-medium-3"}
	for i := range want {
		if ids[i] != want[i] {
			t.Fatalf("ids %q, want %q", ids, want)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 3 {
		t.Fatalf("List: %d results (%v), want 3", len(list), err)
	}
	for i, r := range list {
		if r.ID != want[i] {
			t.Errorf("List[%d] = %q, want %q", i, r.ID, want[i])
		}
	}
}
