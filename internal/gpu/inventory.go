package gpu

import (
	"context"
)

// Where an inventory came from (Choose's second result).
const (
	FromFlags     = "declared by flags"
	FromNvidiaSMI = "nvidia-smi"
)

// Wanted is GPUs declared on the command line (--gpu, --gpu-memory,
// --gpus); the zero value declares none.
type Wanted struct {
	Card   string // a known card name, e.g. "RTX 4090"
	Memory string // memory of each, e.g. "24GiB"
	Count  int    // how many (1 when only Card or Memory is given)
}

// Any reports whether anything is declared.
func (w Wanted) Any() bool { return w.Card != "" || w.Memory != "" || w.Count > 0 }

// FlagsError is a Wanted that does not describe GPUs (an unknown card, a bad
// memory size): the command line is wrong.
type FlagsError struct{ Err error }

func (e *FlagsError) Error() string { return e.Err.Error() }
func (e *FlagsError) Unwrap() error { return e.Err }

// Inventory is what Choose chooses from.
type Inventory struct {
	Wanted Wanted
	// Run runs nvidia-smi; nil when it is absent or not to be used.
	Run Runner
	// Declared returns the project's declared GPUs (vllmctl.yaml's gpus:);
	// nil when the project declares none. DeclaredFrom names where they come from.
	Declared     func() ([]GPU, error)
	DeclaredFrom string
}

// Choose picks the GPUs to plan for: the flags, else nvidia-smi, else the
// project's declared list, and says where they came from. A failing
// nvidia-smi falls back to the declared list, and is the error when there is
// none. No source at all is no GPU and no error.
func Choose(ctx context.Context, in Inventory) ([]GPU, string, error) {
	if in.Wanted.Any() {
		g, err := Declare(in.Wanted.Card, in.Wanted.Memory, max(in.Wanted.Count, 1))
		if err != nil {
			return nil, "", &FlagsError{err}
		}
		return g, FromFlags, nil
	}
	if in.Run != nil {
		g, err := Discover(ctx, in.Run)
		if err == nil {
			return g, FromNvidiaSMI, nil
		}
		if in.Declared == nil {
			return nil, "", err
		}
	}
	if in.Declared != nil {
		g, err := in.Declared()
		return g, in.DeclaredFrom, err
	}
	return nil, "", nil
}
