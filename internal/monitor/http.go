package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// HTTPProber probes an engine over HTTP.
type HTTPProber struct {
	BaseURL string // e.g. http://127.0.0.1:5002
	APIKey  string // sent as a bearer token to /v1 routes; never logged
	Client  *http.Client
	// MaxTokens of the probe completion. Default 1. A decode hang (a "wedge")
	// shows only after the first token, so liveness probes ask for a few.
	MaxTokens int
}

func (p *HTTPProber) client() *http.Client {
	if p.Client != nil {
		return p.Client
	}
	return &http.Client{Timeout: 10 * time.Second}
}

func (p *HTTPProber) do(ctx context.Context, method, path string, body []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, p.BaseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	if p.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.APIKey)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := p.client().Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != 200 {
		return b, fmt.Errorf("%s %s: HTTP %d", method, path, resp.StatusCode)
	}
	return b, nil
}

// Health implements Prober.
func (p *HTTPProber) Health(ctx context.Context) error {
	_, err := p.do(ctx, "GET", "/health", nil)
	return err
}

// Models implements Prober.
func (p *HTTPProber) Models(ctx context.Context) ([]string, error) {
	b, err := p.do(ctx, "GET", "/v1/models", nil)
	if err != nil {
		return nil, err
	}
	var m struct {
		Data []struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("/v1/models: %w", err)
	}
	ids := make([]string, len(m.Data))
	for i, d := range m.Data {
		ids[i] = d.ID
	}
	return ids, nil
}

// Complete implements Prober with a tiny completion (MaxTokens tokens).
func (p *HTTPProber) Complete(ctx context.Context, model string) error {
	n := max(1, p.MaxTokens)
	body, _ := json.Marshal(map[string]any{"model": model, "prompt": "ping", "max_tokens": n, "ignore_eos": true})
	_, err := p.do(ctx, "POST", "/v1/completions", body)
	return err
}
