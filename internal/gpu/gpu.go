// Package gpu is the GPU inventory: it parses nvidia-smi's CSV output, maps
// nvidia-smi numbering to CUDA numbering, and knows the memory of common cards
// for offline planning. Running nvidia-smi is left to a Runner the caller gives.
package gpu

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// GiB is 2^30 bytes.
const GiB = 1 << 30

// GPU is one device as nvidia-smi (NVML) numbers it.
type GPU struct {
	Index      int    `json:"index"` // nvidia-smi index (PCI bus order)
	UUID       string `json:"uuid,omitempty"`
	Name       string `json:"name"`
	BusID      string `json:"pci_bus_id,omitempty"`
	TotalMiB   int64  `json:"memory_total_mib"`
	UsedMiB    int64  `json:"memory_used_mib"`
	FreeMiB    int64  `json:"memory_free_mib"`
	ComputeCap string `json:"compute_cap,omitempty"`
	Declared   bool   `json:"declared,omitempty"` // from settings or flags, not measured
	// HeldMiB is memory a declared GPU has in use by something other than
	// vLLM (a desktop, another service), from vllmctl.yaml's held: setting.
	HeldMiB   int64  `json:"held_mib,omitempty"`
	HeldBy    string `json:"held_by,omitempty"`
	Processes []Proc `json:"processes,omitempty"`
}

// Proc is a process holding GPU memory.
type Proc struct {
	PID     int    `json:"pid"`
	Name    string `json:"name"`
	UsedMiB int64  `json:"used_mib"`
}

// TotalGiB is the device's total memory in GiB.
func (g GPU) TotalGiB() float64 { return float64(g.TotalMiB) / 1024 }

// FreeGiB is the free memory in GiB.
func (g GPU) FreeGiB() float64 { return float64(g.FreeMiB) / 1024 }

// ReservedMiB is what the driver reserves: the Reserved line of `nvidia-smi
// -q` (fb_memory_usage), which equals memory.total − memory.used −
// memory.free on drivers that report it (R510 and later; 480 MiB on an H100
// 80GB, 615 MiB on an H200). Older drivers count it in used: then 0.
func (g GPU) ReservedMiB() int64 {
	if g.Declared || g.UsedMiB+g.FreeMiB <= 0 || g.UsedMiB+g.FreeMiB >= g.TotalMiB {
		return 0
	}
	return g.TotalMiB - g.UsedMiB - g.FreeMiB
}

// CUDATotalGiB is the total vLLM sees (torch.cuda.mem_get_info) and
// multiplies by --gpu-memory-utilization: nvidia-smi's total less the driver
// reserve for a live GPU (143,771 − 615 = 143,156 MiB on an H200, where torch
// reports 143,155 MiB); a declared GPU carries the card table's CUDA total.
func (g GPU) CUDATotalGiB() float64 {
	return float64(g.TotalMiB-g.ReservedMiB()) / 1024
}

// Hold records memory held on a declared GPU by something else: it is no
// longer free.
func (g *GPU) Hold(mib int64, by string) {
	g.HeldMiB, g.HeldBy = mib, by
	g.UsedMiB = mib
	g.FreeMiB = max(0, g.TotalMiB-mib)
}

// QueryArgs are the nvidia-smi arguments of an inventory read.
var QueryArgs = []string{"--query-gpu=index,uuid,name,pci.bus_id,memory.total,memory.used,memory.free,compute_cap", "--format=csv,noheader,nounits"}

// AppsArgs are the nvidia-smi arguments listing processes that hold memory.
var AppsArgs = []string{"--query-compute-apps=pid,gpu_uuid,used_memory,process_name", "--format=csv,noheader,nounits"}

// ParseQuery reads `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`.
// A header line and unit suffixes ("81559 MiB") are accepted; extra trailing
// columns (driver_version) are ignored.
func ParseQuery(out string) ([]GPU, error) {
	var gpus []GPU
	for n, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "index") {
			continue
		}
		f := strings.Split(line, ",")
		for i := range f {
			f[i] = strings.TrimSpace(f[i])
		}
		if len(f) < 7 {
			return nil, fmt.Errorf("nvidia-smi line %d: want at least 7 fields, got %d: %q", n+1, len(f), line)
		}
		var g GPU
		var err error
		if g.Index, err = strconv.Atoi(f[0]); err != nil {
			return nil, fmt.Errorf("nvidia-smi line %d: index %q: %w", n+1, f[0], err)
		}
		g.UUID, g.Name, g.BusID = f[1], f[2], f[3]
		for i, dst := range []*int64{&g.TotalMiB, &g.UsedMiB, &g.FreeMiB} {
			v := strings.TrimSuffix(f[4+i], " MiB")
			if *dst, err = strconv.ParseInt(v, 10, 64); err != nil {
				return nil, fmt.Errorf("nvidia-smi line %d: memory %q: %w", n+1, f[4+i], err)
			}
		}
		if len(f) > 7 {
			g.ComputeCap = f[7]
		}
		gpus = append(gpus, g)
	}
	if len(gpus) == 0 {
		return nil, errors.New("nvidia-smi listed no GPU")
	}
	return gpus, nil
}

// AttachProcesses reads `nvidia-smi --query-compute-apps=pid,gpu_uuid,used_memory,process_name`
// and records each process on its GPU.
func AttachProcesses(gpus []GPU, out string) {
	for _, line := range strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n") {
		f := strings.Split(line, ",")
		if len(f) < 4 {
			continue
		}
		pid, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
		mib, err2 := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(f[2]), " MiB"), 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		for i := range gpus {
			if gpus[i].UUID == strings.TrimSpace(f[1]) {
				gpus[i].Processes = append(gpus[i].Processes, Proc{PID: pid, Name: strings.TrimSpace(f[3]), UsedMiB: mib})
			}
		}
	}
}

// CUDAOrder returns the GPUs in the order CUDA numbers them. With
// CUDA_DEVICE_ORDER=PCI_BUS_ID that is nvidia-smi's order; with the default
// FASTEST_FIRST, faster (higher compute capability) devices come first, ties by
// PCI bus.
func CUDAOrder(gpus []GPU, cudaDeviceOrder string) []GPU {
	out := append([]GPU(nil), gpus...)
	if strings.EqualFold(cudaDeviceOrder, "PCI_BUS_ID") {
		sort.SliceStable(out, func(i, j int) bool { return out[i].BusID < out[j].BusID })
		return out
	}
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := capValue(out[i].ComputeCap), capValue(out[j].ComputeCap)
		if ci != cj {
			return ci > cj
		}
		return out[i].BusID < out[j].BusID
	})
	return out
}

func capValue(s string) float64 {
	f, _ := strconv.ParseFloat(s, 64)
	return f
}

// Card is a known GPU model and the total memory CUDA reports for it.
type Card struct {
	Name string
	// TotalGiB is CUDA's total (torch.cuda.mem_get_info), which vLLM multiplies
	// by --gpu-memory-utilization: nvidia-smi's memory.total less what the
	// driver reserves.
	TotalGiB float64
	// SMITotalMiB is nvidia-smi's memory.total for the card.
	SMITotalMiB int64
	// Source says where TotalGiB comes from: a measurement, a vLLM or PyTorch
	// message, or the derivation DeriveCUDATotal with its assumption.
	Source string
}

// Reserve ratios of the driver, measured: what nvidia-smi -q calls Reserved
// (memory.total − memory.used − memory.free on an idle card) over memory.total.
const (
	// HBMReserve: H100 80GB HBM3 480 of 81,559 MiB (0.59 %, nvidia-smi -q,
	// driver 580) and H200 615 of 143,771 MiB (0.43 %, CUDA total 143,155 MiB
	// measured with torch); their mean is taken for other data-center cards.
	HBMReserve = 0.0051
	// GDDRReserve: RTX 3090, 24,576 MiB in nvidia-smi, 23.58 GiB (24,146 MiB) in
	// vLLM's total_gpu_memory (vllm#10517): 430 MiB, 1.75 %; taken for other
	// workstation and consumer cards on Linux.
	GDDRReserve = 0.0175
)

// DeriveCUDATotal is nvidia-smi's total less the driver reserve at ratio, in GiB.
func DeriveCUDATotal(smiMiB int64, ratio float64) float64 {
	return float64(int64(float64(smiMiB)*(1-ratio))) / 1024
}

func derived(name string, smiMiB int64, ratio float64) Card {
	kind := "HBM"
	if ratio == GDDRReserve {
		kind = "GDDR"
	}
	return Card{Name: name, TotalGiB: float64(int(DeriveCUDATotal(smiMiB, ratio)*100)) / 100, SMITotalMiB: smiMiB,
		Source: fmt.Sprintf("derived: nvidia-smi total %s MiB less the %s driver reserve (%.2f %%, measured on another card)", commas(smiMiB), kind, ratio*100)}
}

// cards lists common cards with the total memory CUDA reports. Measured and
// quoted rows say where from; the others are derived from nvidia-smi's total
// with the reserve ratio of a measured card of the same memory kind.
var cards = []Card{
	{"RTX 3090", 23.58, 24576, "vLLM V0 log total_gpu_memory=23.58GiB (vllm#10517, FACTS.md §5.6 A)"},
	{"RTX 4090", 24564.0 / 1024, 24564, "vLLM message `Free memory on device (22.26/23.99 GiB)` on a desktop RTX 4090 (Windows/WSL driver: no reserve below nvidia-smi's 24,564 MiB; issue 13)"},
	{"H200", 139.80, 143771, "measured 2026-12-02, driver 580: torch.cuda.mem_get_info total 143,155 MiB; nvidia-smi 143,771 MiB total, 143,156 MiB free at idle"},
	{"H100 80GB", 79.18, 81559, "measured 2026-11-27, driver 580: nvidia-smi -q Reserved 480 MiB of 81,559 MiB (free at idle 81,079 MiB)"},
	{"A100 80GB", 79.15, 81920, "PyTorch `GPU 0 has a total capacity of 79.15 GiB` beside nvidia-smi's 81,920 MiB (public OOM reports)"},
	derived("A800 80GB", 81920, HBMReserve),
	derived("A100 40GB", 40960, HBMReserve),
	derived("H100 NVL", 95830, HBMReserve),
	derived("B200", 183359, HBMReserve),
	derived("RTX 3060", 12288, GDDRReserve),
	derived("RTX 3080", 10240, GDDRReserve),
	derived("RTX 4060", 8188, GDDRReserve),
	derived("RTX 4070", 12282, GDDRReserve),
	derived("RTX 4080", 16376, GDDRReserve),
	{"RTX 5090", 31.36, 32607, "PyTorch `GPU 0 has a total capacity of 31.36 GiB` in a vLLM 0.29 out-of-memory report on an RTX 5090 (nvidia-smi 32,607 MiB; issue 13 rows)"},
	derived("RTX A6000", 49140, GDDRReserve),
	derived("RTX 6000 Ada", 49140, GDDRReserve),
	derived("A10", 23028, GDDRReserve),
	derived("L4", 23034, GDDRReserve),
	{"L40S", 44.42, 46068, "vLLM 0.10.2 message `Free memory on device (43.93/44.42 GiB)` on an L40S of 46,068 MiB (issue 13 rows)"},
	{"RTX PRO 6000 Blackwell", 94.97, 97887, "vLLM 0.29.0 message `Free memory on device (94.43/94.97 GiB)` on an RTX PRO 6000 Blackwell Server Edition of 97,887 MiB (issue 13 rows)"},
}

func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// Cards returns the table of known cards.
func Cards() []Card { return append([]Card(nil), cards...) }

var nonAlnum = regexp.MustCompile(`[^a-z0-9]+`)

func norm(s string) string {
	s = strings.ToLower(s)
	s = strings.NewReplacer("nvidia", "", "geforce", "", "tesla", "").Replace(s)
	return nonAlnum.ReplaceAllString(s, "")
}

// LookupCard finds a card by a loose name ("RTX 4090", "NVIDIA GeForce RTX 4090", "4090").
func LookupCard(name string) (Card, bool) {
	n := norm(name)
	if n == "" {
		return Card{}, false
	}
	for _, c := range cards {
		if norm(c.Name) == n {
			return c, true
		}
	}
	best := Card{}
	for _, c := range cards { // the longest table name contained in the given one
		if cn := norm(c.Name); strings.Contains(n, cn) || strings.Contains(cn, n) && len(n) >= 4 {
			if len(c.Name) > len(best.Name) {
				best = c
			}
		}
	}
	return best, best.Name != ""
}

// ParseSize reads "24GiB", "24 GB", "81559MiB", "23.58" (GiB) into GiB.
func ParseSize(s string) (float64, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	mult := 1.0
	for _, u := range []struct {
		suffix string
		m      float64
	}{{"gib", 1}, {"gb", 1e9 / GiB}, {"mib", 1.0 / 1024}, {"mb", 1e6 / GiB}, {"g", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.m
			break
		}
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || f <= 0 {
		return 0, fmt.Errorf("size %q: want a positive number with an optional unit (24GiB, 24GB, 81559MiB)", s)
	}
	return f * mult, nil
}

// Declare builds an inventory for offline planning: count GPUs of a card or of a given memory.
func Declare(name string, memory string, count int) ([]GPU, error) {
	if count <= 0 {
		count = 1
	}
	var total float64
	if memory != "" {
		v, err := ParseSize(memory)
		if err != nil {
			return nil, err
		}
		total = v
	} else {
		c, ok := LookupCard(name)
		if !ok {
			var names []string
			for _, c := range cards {
				names = append(names, c.Name)
			}
			return nil, fmt.Errorf("unknown GPU %q: pass its memory (--gpu-memory 24GiB) or one of: %s", name, strings.Join(names, ", "))
		}
		total, name = c.TotalGiB, c.Name
	}
	if name == "" {
		name = fmt.Sprintf("GPU %.0fGiB", total)
	}
	out := make([]GPU, count)
	mib := int64(total * 1024)
	for i := range out {
		out[i] = GPU{Index: i, Name: name, TotalMiB: mib, FreeMiB: mib, Declared: true}
	}
	return out, nil
}

// Runner runs a command and returns its standard output.
type Runner func(ctx context.Context, name string, args ...string) (string, error)

// Discover reads the live inventory with nvidia-smi through run.
func Discover(ctx context.Context, run Runner) ([]GPU, error) {
	out, err := run(ctx, "nvidia-smi", QueryArgs...)
	if err != nil {
		return nil, fmt.Errorf("nvidia-smi: %w", err)
	}
	gpus, err := ParseQuery(out)
	if err != nil {
		return nil, err
	}
	if apps, err := run(ctx, "nvidia-smi", AppsArgs...); err == nil {
		AttachProcesses(gpus, apps)
	}
	return gpus, nil
}
