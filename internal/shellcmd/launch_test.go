package shellcmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestFindVLLM(t *testing.T) {
	for _, tc := range []struct {
		name   string
		script string
		line   int
		argv   []string // Argv()[launcher:]
	}{
		{name: "vllm serve", script: "vllm serve m --tp 2", line: 1, argv: []string{"vllm", "serve", "m", "--tp", "2"}},
		{name: "exec and a path", script: "pip install x\nexec /opt/venv/bin/vllm serve m", line: 2, argv: []string{"/opt/venv/bin/vllm", "serve", "m"}},
		{name: "python -m", script: "exec python3 -m vllm.entrypoints.openai.api_server --model m", line: 1,
			argv: []string{"python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"}},
		{name: "python options before -m", script: "python3.12 -u -X dev -m vllm.entrypoints.openai.api_server --model m", line: 1,
			argv: []string{"python3.12", "-u", "-X", "dev", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"}},
		{name: "api_server.py script", script: "python /workspace/vllm/vllm/entrypoints/openai/api_server.py --model m", line: 1,
			argv: []string{"python", "/workspace/vllm/vllm/entrypoints/openai/api_server.py", "--model", "m"}},
		{name: "env prefix", script: "exec env VLLM_USE_V1=1 -u X CUDA_VISIBLE_DEVICES=0,1 vllm serve m", line: 1, argv: []string{"vllm", "serve", "m"}},
		{name: "nohup in the background", script: "nohup vllm serve m > /log 2>&1 &\nwait", line: 1, argv: []string{"vllm", "serve", "m"}},
		{name: "uv run", script: "uv run --with vllm==0.11.0 --python 3.12 vllm serve m", line: 1, argv: []string{"vllm", "serve", "m"}},
		{name: "uv run -m", script: "uv run -m vllm.entrypoints.openai.api_server --model m", line: 1,
			argv: []string{"-m", "vllm.entrypoints.openai.api_server", "--model", "m"}},
		{name: "conda run", script: "conda run -n vllm --no-capture-output python -m vllm.entrypoints.openai.api_server --model m", line: 1,
			argv: []string{"python", "-m", "vllm.entrypoints.openai.api_server", "--model", "m"}},
		{name: "nested prefixes", script: "exec tini -- numactl --cpunodebind=0 -m 0 taskset -c 0-15 gosu app timeout 1h vllm serve m", line: 1,
			argv: []string{"vllm", "serve", "m"}},
		{name: "through a variable", script: "CMD=\"vllm serve m\"\n$CMD --tp 2", line: 2, argv: []string{"vllm", "serve", "m", "--tp", "2"}},
		{name: "first of two branches", script: "if [ -d /m ]; then\n exec vllm serve /m\nelse\n exec vllm serve org/m\nfi", line: 2,
			argv: []string{"vllm", "serve", "/m"}},
		{name: "after a health helper", script: "vllm --version\npython -c 'import vllm'\ncommand -v vllm\necho vllm serve x\nvllm serve real", line: 5,
			argv: []string{"vllm", "serve", "real"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := Parse(tc.script, Options{})
			if err != nil {
				t.Fatal(err)
			}
			cmd, i, ok := FindVLLM(cmds)
			if !ok {
				t.Fatalf("FindVLLM found nothing in %q", renderAll(cmds))
			}
			argv, _ := cmd.Argv()
			if diff := cmp.Diff(tc.argv, argv[i:]); diff != "" || cmd.Line != tc.line {
				t.Errorf("line %d (want %d), argv[launcher:] (-want +got):\n%s", cmd.Line, tc.line, diff)
			}
		})
	}
}

func TestFindVLLMNone(t *testing.T) {
	for _, script := range []string{
		"pip install vllm",
		"echo 'vllm serve m'",
		"vllm --version",
		"python -c 'import vllm; vllm.serve()'",
		"python -m vllm.entrypoints.api_server --model m",
		"command -v vllm",
		"$LAUNCHER serve m",
		"exec \"$@\"",
		"huggingface-cli download org/m && sleep infinity",
		"uv pip install vllm",
	} {
		cmds, err := Parse(script, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if cmd, i, ok := FindVLLM(cmds); ok {
			t.Errorf("FindVLLM(%q) = %s at %d, want none", script, render(cmd), i)
		}
	}
}

func TestFindVLLMForwardedArgs(t *testing.T) {
	// A wrapper script `exec "$@"` whose arguments are the vLLM command.
	cmds, err := Parse("set -e\nexec \"$@\"", Options{Args: []string{"vllm", "serve", "m", "--tp", "2"}})
	if err != nil {
		t.Fatal(err)
	}
	cmd, i, ok := FindVLLM(cmds)
	if !ok {
		t.Fatalf("FindVLLM found nothing in %q", renderAll(cmds))
	}
	argv, _ := cmd.Argv()
	if want := []string{"vllm", "serve", "m", "--tp", "2"}; !cmp.Equal(argv[i:], want) || !cmd.Exec {
		t.Errorf("argv[launcher:] = %q exec %v, want %q exec true", argv[i:], cmd.Exec, want)
	}
}

func TestIsShell(t *testing.T) {
	for _, tc := range []struct {
		name   string
		argv   []string
		ok     bool
		script string
		args   []string
	}{
		{name: "sh -c", argv: []string{"/bin/sh", "-c", "vllm serve m"}, ok: true, script: "vllm serve m", args: []string{}},
		{name: "bash -c with args", argv: []string{"bash", "-c", `exec vllm serve "$@"`, "bash", "--tp", "2"}, ok: true,
			script: `exec vllm serve "$@"`, args: []string{"bash", "--tp", "2"}},
		{name: "sh -lc", argv: []string{"sh", "-lc", "s"}, ok: true, script: "s", args: []string{}},
		{name: "bash -euo pipefail -c", argv: []string{"/bin/bash", "-euo", "pipefail", "-c", "s", "x"}, ok: true, script: "s", args: []string{"x"}},
		{name: "-o before -c", argv: []string{"bash", "-o", "errexit", "-x", "-c", "s"}, ok: true, script: "s", args: []string{}},
		{name: "long options", argv: []string{"bash", "--noprofile", "--rcfile", "/x", "-c", "s"}, ok: true, script: "s", args: []string{}},
		{name: "behind env", argv: []string{"/usr/bin/env", "bash", "-c", "s"}, ok: true, script: "s", args: []string{}},
		{name: "behind tini", argv: []string{"tini", "-s", "--", "/bin/sh", "-c", "s"}, ok: true, script: "s", args: []string{}},
		{name: "busybox sh", argv: []string{"busybox", "sh", "-c", "s"}, ok: true, script: "s", args: []string{}},
		{name: "script file", argv: []string{"bash", "/entrypoint.sh", "--tp", "2"}},
		{name: "-c without script", argv: []string{"sh", "-c"}},
		{name: "not a shell", argv: []string{"vllm", "serve", "-c", "x"}},
		{name: "python -c", argv: []string{"python3", "-c", "print(1)"}},
		{name: "empty", argv: nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			script, args, ok := IsShell(tc.argv)
			if ok != tc.ok || script != tc.script || !cmp.Equal(args, tc.args) {
				t.Errorf("IsShell(%q) = %q, %#v, %v; want %q, %#v, %v", tc.argv, script, args, ok, tc.script, tc.args, tc.ok)
			}
			if ok && args == nil {
				t.Errorf("IsShell(%q) args are nil, want non-nil", tc.argv)
			}
		})
	}
}
