package check

import (
	"context"
	"testing"

	"github.com/vllmctl/vllmctl/internal/project"
)

// BenchmarkCheckExample measures what `vllmctl check` does on the example
// project: load (compose-go merge and interpolation, positions) and check.
func BenchmarkCheckExample(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		p, err := project.Load(ctx, project.Options{Root: "../../examples/project", Environ: map[string]string{}})
		if err != nil {
			b.Fatal(err)
		}
		if ds := Run(p, Options{}); project.CountErrors(ds) != 0 {
			b.Fatalf("example has errors: %v", ds)
		}
	}
}
