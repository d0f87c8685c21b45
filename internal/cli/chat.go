package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/vllmctl/vllmctl/internal/project"
)

func newChatCmd(e *env) *cobra.Command {
	var maxTokens int
	var port int
	c := &cobra.Command{
		Use:   "chat PROFILE [MESSAGE]",
		Short: "Send one chat completion to a deployed profile and print the answer",
		Long: `Chat sends one /v1/chat/completions request to the profile's published port,
with its served model name and the API key from the root .env, and prints the
answer and the token usage. A quick way to see that a deploy really answers.`,
		Example: `  vllmctl chat medium "Write a haiku about GPUs"`,
		Args:    cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := e.load(project.Options{})
			if err != nil {
				return err
			}
			pr, err := p.Profile(args[0])
			if err != nil {
				return &exitError{code: ExitUsage, err: err}
			}
			engines := pr.Engines()
			if len(engines) == 0 {
				return &exitError{code: ExitFindings, err: fmt.Errorf("profile %q has no vLLM engine", pr.Name)}
			}
			eng := engines[0]
			msg := "Say hello in one short sentence."
			if len(args) == 2 {
				msg = args[1]
			}
			if port == 0 {
				port = eng.HostPort()
			}
			body, _ := json.Marshal(map[string]any{"model": eng.Args.ServedNames()[0], "max_tokens": maxTokens,
				"messages": []map[string]string{{"role": "user", "content": msg}}})
			req, _ := http.NewRequestWithContext(e.ctx, "POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port), bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if eng.Args.APIKey != "" {
				req.Header.Set("Authorization", "Bearer "+eng.Args.APIKey)
			}
			start := time.Now()
			resp, err := (&http.Client{Timeout: 10 * time.Minute}).Do(req)
			if err != nil {
				return &exitError{code: ExitFindings, err: fmt.Errorf("%s on port %d does not answer: %v (is it deployed? vllmctl status)", pr.Name, port, err)}
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
			if resp.StatusCode != 200 {
				return &exitError{code: ExitFindings, err: fmt.Errorf("HTTP %d: %s", resp.StatusCode, redactorFor(p).String(strings.TrimSpace(string(b))))}
			}
			var out struct {
				Model   string `json:"model"`
				Choices []struct {
					Message struct {
						Content string `json:"content"`
					} `json:"message"`
					FinishReason string `json:"finish_reason"`
				} `json:"choices"`
				Usage struct {
					Prompt     int `json:"prompt_tokens"`
					Completion int `json:"completion_tokens"`
				} `json:"usage"`
			}
			if err := json.Unmarshal(b, &out); err != nil || len(out.Choices) == 0 {
				return &exitError{code: ExitFindings, err: fmt.Errorf("unexpected answer: %s", b)}
			}
			fmt.Fprintf(e.stdout, "%s\n", out.Choices[0].Message.Content)
			fmt.Fprintf(e.stderr, "(%s, %d prompt + %d completion tokens, finish %s, %.2fs)\n", out.Model, out.Usage.Prompt, out.Usage.Completion, out.Choices[0].FinishReason, time.Since(start).Seconds())
			return nil
		},
	}
	c.Flags().IntVar(&maxTokens, "max-tokens", 64, "most tokens to generate")
	c.Flags().IntVar(&port, "port", 0, "host port (default: the profile's published port)")
	return c
}
