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
	Processes  []Proc `json:"processes,omitempty"`
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
	Name     string
	TotalGiB float64
}

// cards lists common cards with the total memory the driver reports (a
// "24 GB" card reports about 23.58 GiB). Sources: FACTS.md §5.1, vLLM logs in
// kv_datapoints_public.csv, nvidia-smi of an H100 (testdata).
var cards = []Card{
	{"RTX 3060", 11.76}, {"RTX 3080", 9.77}, {"RTX 3090", 23.58}, {"RTX 4060", 8.00}, {"RTX 4070", 11.72},
	{"RTX 4080", 15.70}, {"RTX 4090", 23.55}, {"RTX 5090", 31.36}, {"RTX A6000", 47.38}, {"RTX 6000 Ada", 47.38},
	{"A10", 22.06}, {"L4", 22.06}, {"L40S", 44.39}, {"A100 40GB", 39.38}, {"A100 80GB", 79.15}, {"A800 80GB", 79.15},
	{"H100 80GB", 79.65}, {"H100 NVL", 93.10}, {"H200", 140.40}, {"B200", 178.36},
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
