package gpu

import (
	"context"
	"errors"
	"testing"
)

// TestChoose: flags first, else nvidia-smi, else the declared list; a failing
// nvidia-smi falls back to the declared list and is the error without one.
func TestChoose(t *testing.T) {
	failing := func(context.Context, string, ...string) (string, error) { return "", errors.New("driver not loaded") }
	declared := func() ([]GPU, error) { return Declare("RTX 4090", "", 2) }
	ctx := t.Context()

	g, src, err := Choose(ctx, Inventory{Wanted: Wanted{Card: "RTX 4090"}, Run: failing, Declared: declared, DeclaredFrom: "vllmctl.yaml"})
	if err != nil || src != FromFlags || len(g) != 1 {
		t.Errorf("flags: %d GPUs from %q, %v; want 1 from %q", len(g), src, err, FromFlags)
	}
	_, _, err = Choose(ctx, Inventory{Wanted: Wanted{Memory: "lots"}})
	if fe := (*FlagsError)(nil); !errors.As(err, &fe) {
		t.Errorf("bad flags: %v, want a *FlagsError", err)
	}
	g, src, err = Choose(ctx, Inventory{Run: failing, Declared: declared, DeclaredFrom: "vllmctl.yaml"})
	if err != nil || src != "vllmctl.yaml" || len(g) != 2 {
		t.Errorf("nvidia-smi failing, declared: %d GPUs from %q, %v; want 2 from vllmctl.yaml", len(g), src, err)
	}
	if _, _, err = Choose(ctx, Inventory{Run: failing}); err == nil || err.Error() == "" {
		t.Errorf("nvidia-smi failing, nothing declared: %v, want its error", err)
	}
	g, src, err = Choose(ctx, Inventory{})
	if g != nil || src != "" || err != nil {
		t.Errorf("no source: %v from %q, %v; want nothing", g, src, err)
	}
}
