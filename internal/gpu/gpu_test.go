package gpu

import (
	"context"
	"encoding/xml"
	"os"
	"strings"
	"testing"
)

func read(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseQueryH100(t *testing.T) {
	for _, f := range []string{"h100x2-query-gpu.csv", "h100x2-query-gpu-header.csv"} {
		gpus, err := ParseQuery(read(t, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if len(gpus) != 2 || gpus[0].Name != "NVIDIA H100 80GB HBM3" || gpus[0].TotalMiB != 81559 || gpus[0].FreeMiB != 81079 || gpus[1].Index != 1 || gpus[0].ComputeCap != "9.0" {
			t.Fatalf("%s: got %+v", f, gpus)
		}
	}
}

func TestBusyWithProcesses(t *testing.T) {
	gpus, err := ParseQuery(read(t, "h100x2-query-gpu-busy.csv"))
	if err != nil {
		t.Fatal(err)
	}
	AttachProcesses(gpus, read(t, "h100x2-compute-apps-busy.csv"))
	if gpus[0].UsedMiB != 6671 || len(gpus[0].Processes) != 1 || gpus[0].Processes[0].PID != 572 || gpus[1].Processes[0].UsedMiB != 6662 {
		t.Fatalf("got %+v", gpus)
	}
}

func TestParseQueryErrors(t *testing.T) {
	for _, in := range []string{"", "0, x, y", "a, u, n, b, 1, 2, 3"} {
		if _, err := ParseQuery(in); err == nil {
			t.Errorf("%q: want an error", in)
		}
	}
}

func TestCUDAOrder(t *testing.T) {
	gpus := []GPU{{Index: 0, BusID: "01", ComputeCap: "8.6"}, {Index: 1, BusID: "02", ComputeCap: "8.9"}}
	if got := CUDAOrder(gpus, ""); got[0].Index != 1 {
		t.Errorf("FASTEST_FIRST: got %v first", got[0].Index)
	}
	if got := CUDAOrder(gpus, "PCI_BUS_ID"); got[0].Index != 0 {
		t.Errorf("PCI_BUS_ID: got %v first", got[0].Index)
	}
}

func TestDeclare(t *testing.T) {
	g, err := Declare("NVIDIA GeForce RTX 4090", "", 3)
	if err != nil || len(g) != 3 || g[2].CUDATotalGiB() < 23.98 || g[2].CUDATotalGiB() > 24.0 {
		t.Fatalf("got %+v %v", g, err)
	}
	g, err = Declare("", "24GiB", 1)
	if err != nil || g[0].TotalMiB != 24576 {
		t.Fatalf("got %+v %v", g, err)
	}
	if _, err := Declare("Voodoo 2", "", 1); err == nil || !strings.Contains(err.Error(), "--gpu-memory") {
		t.Fatalf("want a helpful error, got %v", err)
	}
}

func TestDiscover(t *testing.T) {
	q, apps := read(t, "h100x2-query-gpu-busy.csv"), read(t, "h100x2-compute-apps-busy.csv")
	run := func(_ context.Context, name string, args ...string) (string, error) {
		if strings.HasPrefix(args[0], "--query-gpu") {
			return q, nil
		}
		return apps, nil
	}
	gpus, err := Discover(t.Context(), run)
	if err != nil || len(gpus) != 2 || len(gpus[1].Processes) != 1 {
		t.Fatalf("got %+v %v", gpus, err)
	}
}

// TestParseLiveH200 parses the raw output of a discovery run on the device
// machine (one H200, driver in h200x1-nvidia-smi-version.txt), kept verbatim.
func TestParseLiveH200(t *testing.T) {
	gpus, err := ParseQuery(read(t, "h200x1-query-gpu-live.csv"))
	if err != nil {
		t.Fatal(err)
	}
	g := gpus[0]
	if len(gpus) != 1 || g.Name != "NVIDIA H200" || g.TotalMiB != 143771 || g.FreeMiB != 143156 || g.UUID != "GPU-1c9b5fc9-5afc-10bc-fbe1-e7d2b016d148" || g.ComputeCap != "9.0" {
		t.Fatalf("got %+v", gpus)
	}
	if c, ok := LookupCard(g.Name); !ok || c.Name != "H200" {
		t.Fatalf("card table misses %q: %+v", g.Name, c)
	}
}

// The CUDA total of a live GPU is nvidia-smi's total less the Reserved line of
// `nvidia-smi -q`: checked on the real -q XML of the H100 pair, idle and busy,
// and on the H200 whose torch total was measured (143,155 MiB).
func TestCUDATotalLive(t *testing.T) {
	var q struct {
		GPUs []struct {
			FB struct {
				Total    string `xml:"total"`
				Reserved string `xml:"reserved"`
			} `xml:"fb_memory_usage"`
		} `xml:"gpu"`
	}
	if err := xml.Unmarshal([]byte(read(t, "h100x2-nvidia-smi-q.xml")), &q); err != nil {
		t.Fatal(err)
	}
	if len(q.GPUs) != 2 || q.GPUs[0].FB.Reserved != "480 MiB" || q.GPUs[0].FB.Total != "81559 MiB" {
		t.Fatalf("-q XML: %+v", q.GPUs)
	}
	for _, f := range []string{"h100x2-query-gpu.csv", "h100x2-query-gpu-busy.csv"} {
		gpus, err := ParseQuery(read(t, f))
		if err != nil {
			t.Fatal(err)
		}
		// Busy, used and free are rounded separately: within 1 MiB.
		if r := gpus[0].ReservedMiB(); r < 479 || r > 480 {
			t.Errorf("%s: reserved %d MiB, nvidia-smi -q says 480", f, r)
		}
	}
	h200, _ := ParseQuery(read(t, "h200x1-query-gpu-live.csv"))
	if got := int64(h200[0].CUDATotalGiB() * 1024); got < 143155 || got > 143156 {
		t.Errorf("H200 CUDA total %d MiB, torch measured 143,155", got)
	}
	c, _ := LookupCard("NVIDIA H200")
	if c.TotalGiB != 139.80 || c.SMITotalMiB != 143771 {
		t.Errorf("card table H200: %+v", c)
	}
	d, _ := Declare("H100 80GB", "", 1)
	if d[0].CUDATotalGiB() < 79.17 || d[0].CUDATotalGiB() > 79.19 || d[0].ReservedMiB() != 0 {
		t.Errorf("declared H100: %v GiB", d[0].CUDATotalGiB())
	}
}

// Every card row says where its total comes from, and the derived ones follow
// the measured reserve ratios.
func TestCardSources(t *testing.T) {
	for _, c := range Cards() {
		if c.Source == "" || c.SMITotalMiB == 0 || c.TotalGiB*1024 > float64(c.SMITotalMiB) {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
	if got := DeriveCUDATotal(24576, GDDRReserve); got < 23.57 || got > 23.59 {
		t.Errorf("the GDDR ratio does not give back the RTX 3090's 23.58 GiB: %.3f", got)
	}
	if got := DeriveCUDATotal(81559, HBMReserve); got < 79.0 || got > 79.25 {
		t.Errorf("the HBM ratio is far from the H100's 79.18 GiB: %.3f", got)
	}
}

func TestHold(t *testing.T) {
	g, _ := Declare("RTX 4090", "", 1)
	g[0].Hold(1536, "desktop")
	if g[0].FreeGiB() < 22.48 || g[0].FreeGiB() > 22.5 || g[0].HeldBy != "desktop" {
		t.Fatalf("got %+v", g[0])
	}
}
