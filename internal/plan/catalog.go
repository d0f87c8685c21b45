package plan

import (
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
)

// Model holds the architecture numbers the estimator needs.
type Model struct {
	ID           string  `json:"id"`
	Layers       int     `json:"num_hidden_layers"`
	Heads        int     `json:"num_attention_heads"`
	KVHeads      int     `json:"num_key_value_heads"`
	HeadDim      int     `json:"head_dim"`
	Hidden       int     `json:"hidden_size"`
	Intermediate int     `json:"intermediate_size"`
	Vocab        int     `json:"vocab_size"`
	MaxPositions int     `json:"max_position_embeddings"`
	ParamsB      float64 `json:"params_billion"`
	Tie          bool    `json:"tie_word_embeddings"`
	Kind         string  `json:"kind"`                   // dense, moe, sliding, hybrid, mla, multimodal
	WeightBytes  int64   `json:"weight_bytes,omitempty"` // exact checkpoint size when known (safetensors)
	CheckpointQ  string  `json:"checkpoint_quantization,omitempty"`
	Source       string  `json:"source"` // catalog, config.json path
}

//go:embed catalog.csv
var catalogCSV string

var catalog = sync.OnceValue(func() []Model {
	var lines []string
	for _, l := range strings.Split(catalogCSV, "\n") {
		if !strings.HasPrefix(l, "#") && strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	rows, err := csv.NewReader(strings.NewReader(strings.Join(lines, "\n"))).ReadAll()
	if err != nil {
		panic("plan: embedded catalog: " + err.Error())
	}
	var out []Model
	for _, r := range rows[1:] {
		atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
		pb, _ := strconv.ParseFloat(r[10], 64)
		m := Model{ID: r[0], Layers: atoi(r[2]), Heads: atoi(r[3]), KVHeads: atoi(r[4]), HeadDim: atoi(r[5]),
			Hidden: atoi(r[6]), Intermediate: atoi(r[7]), Vocab: atoi(r[8]), MaxPositions: atoi(r[9]),
			ParamsB: pb, Tie: r[11] == "true", Kind: r[12], Source: "catalog"}
		out = append(out, m)
		for _, a := range strings.Split(r[1], ";") {
			if a != "" {
				alias := m
				alias.ID = a
				out = append(out, alias)
			}
		}
	}
	return out
})

// Catalog returns the embedded model table.
func Catalog() []Model { return append([]Model(nil), catalog()...) }

// quantSuffix strips checkpoint-quantization suffixes from a repo name and
// names the method they imply.
var quantSuffix = regexp.MustCompile(`(?i)[-_](awq|gptq(?:[-_]int[48])?|int4|int8|fp8(?:[-_]dynamic)?|(?:unsloth[-_])?bnb[-_]4bit|4bit|8bit|w4a16|w8a8)$`)

// CheckpointQuant names the quantization a model name implies ("awq", "gptq",
// "fp8", "bitsandbytes"), or "".
func CheckpointQuant(model string) string {
	name := model[strings.LastIndex(model, "/")+1:]
	for {
		m := quantSuffix.FindStringSubmatch(name)
		if m == nil {
			return ""
		}
		s := strings.ToLower(m[1])
		switch {
		case strings.HasPrefix(s, "awq"):
			return "awq"
		case strings.HasPrefix(s, "gptq"), s == "int4", s == "int8", s == "w4a16":
			return "gptq"
		case strings.HasPrefix(s, "fp8"), s == "w8a8":
			return "fp8"
		case strings.Contains(s, "bnb"), s == "4bit":
			return "bitsandbytes"
		}
		name = strings.TrimSuffix(name, m[0])
	}
}

// LookupModel finds a model in the catalog by repo id, ignoring case and
// checkpoint-quantization suffixes ("Qwen/Qwen3-32B-AWQ" → Qwen/Qwen3-32B).
// Repackaged copies under another owner match by name alone.
func LookupModel(id string) (Model, bool) {
	base := strings.TrimSuffix(strings.TrimSpace(id), "/")
	for {
		for _, m := range catalog() {
			if strings.EqualFold(m.ID, base) {
				m.CheckpointQ = CheckpointQuant(id)
				return m, true
			}
		}
		stripped := quantSuffix.ReplaceAllString(base, "")
		if stripped == base {
			break
		}
		base = stripped
	}
	name := strings.ToLower(base[strings.LastIndex(base, "/")+1:])
	for _, m := range catalog() {
		if strings.ToLower(m.ID[strings.LastIndex(m.ID, "/")+1:]) == name {
			m.CheckpointQ = CheckpointQuant(id)
			return m, true
		}
	}
	return Model{}, false
}

// hfConfig is the part of a Hugging Face config.json the estimator reads.
type hfConfig struct {
	Architectures []string       `json:"architectures"`
	Layers        int            `json:"num_hidden_layers"`
	Heads         int            `json:"num_attention_heads"`
	KVHeads       int            `json:"num_key_value_heads"`
	HeadDim       int            `json:"head_dim"`
	Hidden        int            `json:"hidden_size"`
	Intermediate  int            `json:"intermediate_size"`
	Vocab         int            `json:"vocab_size"`
	MaxPositions  int            `json:"max_position_embeddings"`
	Tie           bool           `json:"tie_word_embeddings"`
	SlidingWindow *int           `json:"sliding_window"`
	UseSliding    *bool          `json:"use_sliding_window"`
	KVLoraRank    int            `json:"kv_lora_rank"`
	LayerTypes    []string       `json:"layer_types"`
	NumExperts    int            `json:"num_experts"`
	NumLocalExp   int            `json:"num_local_experts"`
	QuantConfig   map[string]any `json:"quantization_config"`
	TextConfig    *hfConfig      `json:"text_config"`
}

// LoadConfigJSON reads a model's config.json (a file, or a folder holding it)
// and, when the folder has model.safetensors.index.json, the exact weight size.
func LoadConfigJSON(path string) (Model, error) {
	st, err := os.Stat(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config %q: %w", path, err)
	}
	dir := filepath.Dir(path)
	if st.IsDir() {
		dir, path = path, filepath.Join(path, "config.json")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return Model{}, fmt.Errorf("model config: %w", err)
	}
	var c hfConfig
	if err := json.Unmarshal(data, &c); err != nil {
		return Model{}, fmt.Errorf("model config %s: %w", path, err)
	}
	kind := "dense"
	if c.TextConfig != nil && c.Layers == 0 {
		c, kind = *c.TextConfig, "multimodal"
	}
	if c.Layers == 0 || c.Heads == 0 || c.Hidden == 0 {
		return Model{}, fmt.Errorf("model config %s: num_hidden_layers, num_attention_heads and hidden_size are required", path)
	}
	m := Model{ID: filepath.Base(dir), Layers: c.Layers, Heads: c.Heads, KVHeads: c.KVHeads, HeadDim: c.HeadDim,
		Hidden: c.Hidden, Intermediate: c.Intermediate, Vocab: c.Vocab, MaxPositions: c.MaxPositions, Tie: c.Tie,
		Kind: kind, Source: path}
	if m.KVHeads == 0 {
		m.KVHeads = m.Heads
	}
	if m.HeadDim == 0 {
		m.HeadDim = m.Hidden / m.Heads
	}
	switch {
	case c.KVLoraRank > 0:
		m.Kind = "mla"
	case len(c.LayerTypes) > 0 && distinct(c.LayerTypes) > 1:
		m.Kind = "hybrid"
	case c.SlidingWindow != nil && *c.SlidingWindow > 0 && (c.UseSliding == nil || *c.UseSliding):
		m.Kind = "sliding"
	case c.NumExperts > 0 || c.NumLocalExp > 0:
		m.Kind = "moe"
	}
	if q, ok := c.QuantConfig["quant_method"].(string); ok {
		m.CheckpointQ = q
	}
	if idx, err := os.ReadFile(filepath.Join(dir, "model.safetensors.index.json")); err == nil {
		var ix struct {
			Metadata struct {
				TotalSize int64 `json:"total_size"`
			} `json:"metadata"`
		}
		if json.Unmarshal(idx, &ix) == nil {
			m.WeightBytes = ix.Metadata.TotalSize
		}
	}
	if m.WeightBytes == 0 {
		if st, err := os.Stat(filepath.Join(dir, "model.safetensors")); err == nil {
			m.WeightBytes = st.Size()
		}
	}
	// Parameters from the layout when the size is not known otherwise.
	emb := float64(m.Vocab) * float64(m.Hidden)
	perLayer := 4*float64(m.Hidden)*float64(m.Hidden) + 3*float64(m.Hidden)*float64(m.Intermediate)
	m.ParamsB = (float64(m.Layers)*perLayer + emb*2) / 1e9
	return m, nil
}

func distinct(s []string) int {
	m := map[string]bool{}
	for _, x := range s {
		m[x] = true
	}
	return len(m)
}
