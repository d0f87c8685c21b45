package deploy

import (
	"testing"

	"github.com/vllmctl/vllmctl/internal/resolve"
	"github.com/vllmctl/vllmctl/internal/runtime"
)

// TestLabelsAgree: the labels resolve writes are the ones the runtime lists
// engines by (each package keeps its own copy so neither imports the other).
func TestLabelsAgree(t *testing.T) {
	for _, l := range [][2]string{
		{resolve.LabelProject, runtime.LabelProject},
		{resolve.LabelProfile, runtime.LabelProfile},
		{resolve.LabelService, runtime.LabelService},
		{resolve.LabelHash, runtime.LabelHash},
		{resolve.LabelVersion, runtime.LabelVersion},
		{resolve.LabelDeploy, runtime.LabelDeploy},
	} {
		if l[0] != l[1] {
			t.Errorf("resolve writes label %q, the runtime reads %q", l[0], l[1])
		}
	}
}
