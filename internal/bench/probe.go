package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"time"
)

// Probe is one quality check: a prompt (or chat messages, with tools) and
// what the answer must hold. A probe passes when every expectation set holds.
type Probe struct {
	ID          string            `json:"id,omitempty"` // default: "line N"
	Prompt      string            `json:"prompt,omitempty"`
	Messages    []json.RawMessage `json:"messages,omitempty"`
	Tools       []json.RawMessage `json:"tools,omitempty"`
	MaxTokens   int               `json:"max_tokens,omitempty"`   // default 256
	Expect      string            `json:"expect,omitempty"`       // the answer contains it (case-insensitive)
	ExpectRegex string            `json:"expect_regex,omitempty"` // the answer matches it
	ExpectTool  string            `json:"expect_tool,omitempty"`  // the answer calls this function
	re          *regexp.Regexp
}

// Probes is the outcome of a probe set.
type Probes struct {
	File     string         `json:"file"`
	Total    int            `json:"total"`
	Passed   int            `json:"passed"`
	PassRate float64        `json:"pass_rate"`
	Outcomes []ProbeOutcome `json:"outcomes"`
}

// ProbeOutcome is one probe's verdict.
type ProbeOutcome struct {
	ID     string `json:"id"`
	Pass   bool   `json:"pass"`
	Reason string `json:"reason,omitempty"` // why it failed
}

// ReadProbes reads a probe set: one JSON object per line (see Probe).
func ReadProbes(name string, r io.Reader) ([]Probe, error) {
	var out []Probe
	seen := map[string]int{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var p Probe
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("%s:%d: %v (fields: id, prompt or messages, tools, max_tokens, expect, expect_regex, expect_tool)", name, n, err)
		}
		if p.Prompt == "" && len(p.Messages) == 0 {
			return nil, fmt.Errorf("%s:%d: no \"prompt\" nor \"messages\"", name, n)
		}
		if p.Expect == "" && p.ExpectRegex == "" && p.ExpectTool == "" {
			return nil, fmt.Errorf("%s:%d: nothing to check: set \"expect\", \"expect_regex\" or \"expect_tool\"", name, n)
		}
		if p.ExpectRegex != "" {
			re, err := regexp.Compile(p.ExpectRegex)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: expect_regex: %v", name, n, err)
			}
			p.re = re
		}
		if p.ID == "" {
			p.ID = fmt.Sprintf("line %d", n)
		}
		if first, dup := seen[p.ID]; dup {
			return nil, fmt.Errorf("%s:%d: id %q is also on line %d: ids pair the outcomes of two runs", name, n, p.ID, first)
		}
		seen[p.ID] = n
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no probes", name)
	}
	return out, nil
}

// RunProbes sends each probe once (temperature 0, not streamed) and judges the answer.
func RunProbes(ctx context.Context, t Target, file string, probes []Probe) *Probes {
	client := t.Client
	if client == nil {
		client = NewClient(1)
	}
	res := &Probes{File: file, Total: len(probes)}
	for _, p := range probes {
		o := ProbeOutcome{ID: p.ID}
		o.Reason = probeOnce(ctx, client, t, p)
		o.Pass = o.Reason == ""
		if o.Pass {
			res.Passed++
		}
		res.Outcomes = append(res.Outcomes, o)
	}
	if res.Total > 0 {
		res.PassRate = float64(res.Passed) / float64(res.Total)
	}
	return res
}

type answer struct {
	Choices []struct {
		Message struct {
			Content   string `json:"content"`
			ToolCalls []struct {
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			} `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
}

// probeOnce returns "" when the probe passes, else why it failed.
func probeOnce(ctx context.Context, client *http.Client, t Target, p Probe) string {
	req := map[string]any{"model": t.Model, "temperature": 0, "max_tokens": 256}
	if p.MaxTokens > 0 {
		req["max_tokens"] = p.MaxTokens
	}
	if len(p.Messages) > 0 {
		req["messages"] = p.Messages
	} else {
		req["messages"] = []map[string]string{{"role": "user", "content": p.Prompt}}
	}
	if len(p.Tools) > 0 {
		req["tools"] = p.Tools
	}
	body, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(t.BaseURL, "/")+"/v1/chat/completions", bytes.NewReader(body))
	hr.Header.Set("Content-Type", "application/json")
	if t.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+t.APIKey)
	}
	resp, err := client.Do(hr)
	if err != nil {
		return "no answer: " + errKind(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	var a answer
	if err := json.Unmarshal(b, &a); err != nil || len(a.Choices) == 0 {
		return "not a chat completion"
	}
	m := a.Choices[0].Message
	if p.Expect != "" && !strings.Contains(strings.ToLower(m.Content), strings.ToLower(p.Expect)) {
		return fmt.Sprintf("answer does not contain %q", p.Expect)
	}
	if p.re != nil && !p.re.MatchString(m.Content) {
		return fmt.Sprintf("answer does not match %q", p.ExpectRegex)
	}
	if p.ExpectTool != "" {
		var called []string
		for _, tc := range m.ToolCalls {
			if tc.Function.Name == p.ExpectTool {
				return ""
			}
			called = append(called, tc.Function.Name)
		}
		if len(called) == 0 {
			return fmt.Sprintf("no tool call (expected %s)", p.ExpectTool)
		}
		return fmt.Sprintf("called %s, not %s", strings.Join(called, ", "), p.ExpectTool)
	}
	return ""
}
