package shellcmd

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// render writes a command as one line: "L<line>[ E]: word word ?unknown".
// Words holding blanks, quotes or nothing are Go-quoted.
func render(c Command) string {
	var b strings.Builder
	b.WriteString("L" + strconv.Itoa(c.Line))
	if c.Exec {
		b.WriteString(" E")
	}
	b.WriteString(":")
	for _, w := range c.Words {
		b.WriteByte(' ')
		if w.Unknown {
			b.WriteByte('?')
		}
		if w.Text == "" || strings.ContainsAny(w.Text, " \t\n\"'\\") {
			b.WriteString(strconv.Quote(w.Text))
		} else {
			b.WriteString(w.Text)
		}
	}
	return b.String()
}

func renderAll(cmds []Command) []string {
	out := make([]string, len(cmds))
	for i, c := range cmds {
		out[i] = render(c)
	}
	return out
}

func envOf(kv ...string) func(string) (string, bool) {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(n string) (string, bool) { v, ok := m[n]; return v, ok }
}

type parseCase struct {
	name   string
	script string
	opt    Options
	want   []string
}

var parseCases = []parseCase{
	// Words, quoting, continuations.
	{name: "plain vllm serve", script: "vllm serve Qwen/Qwen3-8B --tensor-parallel-size 2",
		want: []string{"L1: vllm serve Qwen/Qwen3-8B --tensor-parallel-size 2"}},
	{name: "line continuations", script: "exec vllm serve \\\n  --model m \\\n  --max-model-len 8192\n",
		want: []string{"L1 E: exec vllm serve --model m --max-model-len 8192"}},
	{name: "continuation inside a word", script: "vllm serve --max-model\\\n-len 8192",
		want: []string{"L1: vllm serve --max-model-len 8192"}},
	{name: "single and double quotes", script: `vllm serve 'a b' "c d" "e"'f'g "" ''`,
		want: []string{`L1: vllm serve "a b" "c d" efg "" ""`}},
	{name: "escapes", script: `echo a\ b \$HOME "x\"y\$z\\w\q" \*`,
		want: []string{`L1: echo "a b" $HOME "x\"y$z\\w\\q" *`}},
	{name: "continuation inside double quotes", script: "echo \"ab\\\ncd\"",
		want: []string{"L1: echo abcd"}},
	{name: "ansi-c quoting", script: `echo $'a\tb\x41\u00e9\'' $'\101'`,
		want: []string{`L1: echo "a\tbAé'" A`}},
	{name: "json value in single quotes", script: `vllm serve --compilation-config '{"level": 3, "cudagraph_capture_sizes": [1, 2]}'`,
		want: []string{`L1: vllm serve --compilation-config "{\"level\": 3, \"cudagraph_capture_sizes\": [1, 2]}"`}},
	{name: "comments", script: "# start\nvllm serve m # the model\n",
		want: []string{"L2: vllm serve m"}},

	// Parameters from the environment.
	{name: "var from env", script: `vllm serve $MODEL --tp "$TP"`, opt: Options{Env: envOf("MODEL", "org/m", "TP", "2")},
		want: []string{"L1: vllm serve org/m --tp 2"}},
	{name: "unset var is unknown", script: `vllm serve --tp $TP --x=${TP} "${TP}"`,
		want: []string{"L1: vllm serve --tp ?$TP ?--x=${TP} ?${TP}"}},
	{name: "default when unset or empty", script: `echo ${A:-a1} ${B:-b1} ${C:-c1}`, opt: Options{Env: envOf("A", "set", "B", "")},
		want: []string{"L1: echo set b1 c1"}},
	{name: "default when unset only", script: `echo "${A-a1}" "${B-b1}" ${C-c1}`, opt: Options{Env: envOf("A", "set", "B", "")},
		want: []string{`L1: echo set "" c1`}},
	{name: "alternate", script: `echo ${A:+--a} ${B:+--b} ${C+--c} ${D:+x}`, opt: Options{Env: envOf("A", "1", "B", "", "C", "")},
		want: []string{"L1: echo --a --c"}},
	{name: "assign default", script: "echo ${TP:=4}\nvllm serve --tp $TP", want: []string{"L1: echo 4", "L2: vllm serve --tp 4"}},
	{name: "error when unset", script: `echo ${A:?need A} ${B:?need B}`, opt: Options{Env: envOf("A", "a")},
		want: []string{`L1: echo a ?"${B:?need B}"`}},
	{name: "nested defaults", script: `vllm serve --served-model-name ${SERVED:-${MODEL:-org/default}}`,
		want: []string{"L1: vllm serve --served-model-name org/default"}},
	{name: "default holding an unknown", script: `echo ${A:-$B}`, want: []string{"L1: echo ?$B"}},
	{name: "default word splits unquoted", script: `echo ${A:-x y} "${A:-x y}"`,
		want: []string{`L1: echo x y "x y"`}},
	{name: "special parameters are unknown", script: `echo $RANDOM $$ $? $! $0 $LINENO`, opt: Options{Env: envOf("RANDOM", "4")},
		want: []string{"L1: echo ?$RANDOM ?$$ ?$? ?$! ?$0 1"}},
	{name: "command substitution is unknown", script: "vllm serve --tp $(nvidia-smi -L | wc -l) --x=`nproc` \"$(date)\"",
		want: []string{"L1: vllm serve --tp ?\"$(nvidia-smi -L | wc -l)\" ?--x=`nproc` ?$(date)"}},
	{name: "glob is unknown, quoted glob is not", script: `vllm serve /models/* "/models/*" /m/\*`,
		want: []string{"L1: vllm serve ?/models/* /models/* /m/*"}},
	{name: "set -f stops globbing", script: "set -f\necho *.json",
		want: []string{"L1: set -f", "L2: echo *.json"}},
	{name: "tilde", script: `echo ~/models ~ "~" ~user/x`, opt: Options{Env: envOf("HOME", "/root")},
		want: []string{"L1: echo /root/models /root ~ ?~user/x"}},

	// Field splitting.
	{name: "unquoted expansion splits", script: `vllm serve m $MODEL_PARAMETERS "$MODEL_PARAMETERS"`,
		opt:  Options{Env: envOf("MODEL_PARAMETERS", "--a 1  --b 2")},
		want: []string{`L1: vllm serve m --a 1 --b 2 "--a 1  --b 2"`}},
	{name: "empty unquoted expansion disappears", script: `vllm serve m $EXTRA ${EXTRA:-} "$EXTRA"`, opt: Options{Env: envOf("EXTRA", "")},
		want: []string{`L1: vllm serve m ""`}},
	{name: "split joins neighbours", script: `echo a$X"b"`, opt: Options{Env: envOf("X", "1 2")},
		want: []string{"L1: echo a1 2b"}},
	{name: "IFS assigned in the script", script: "IFS=,\necho $L", opt: Options{Env: envOf("L", "a,b c")},
		want: []string{`L2: echo a "b c"`}},

	// Positional parameters.
	{name: "$@ unknown without Args", script: `exec vllm serve "$@"`,
		want: []string{"L1 E: exec vllm serve ?$@"}},
	{name: "$@ forwards Args", script: `exec vllm serve "$@" --x "$1" $#`, opt: Options{Args: []string{"--model", "a b", ""}},
		want: []string{`L1 E: exec vllm serve --model "a b" "" --x --model 3`}},
	{name: "$@ with no Args", script: `exec vllm serve "$@" $@ "$*"`, opt: Options{Args: []string{}},
		want: []string{`L1 E: exec vllm serve ""`}},
	{name: "$@ inside a word", script: `echo "x$@y"`, opt: Options{Args: []string{"1", "2"}},
		want: []string{"L1: echo x1 2y"}},
	{name: "unquoted $@ and $* split", script: `echo $@ "$*" $*`, opt: Options{Args: []string{"a b", "c"}},
		want: []string{`L1: echo a b c "a b c" a b c`}},
	{name: "$1 without Args", script: `vllm serve $1 ${2:-x}`,
		want: []string{"L1: vllm serve ?$1 ?${2:-x}"}},
	{name: "set -- replaces the arguments", script: "set -- --model m \"$@\"\nshift\nexec vllm serve \"$@\"", opt: Options{Args: []string{"--tp", "2"}},
		want: []string{"L1: set -- --model m --tp 2", "L2: shift", "L3 E: exec vllm serve m --tp 2"}},

	// Assignments in the script.
	{name: "script variables", script: "MODEL=${MODEL:-org/m}\nGPU_UTIL=${GPU_UTIL:-0.8}\nexec vllm serve \"$MODEL\" --gpu-memory-utilization $GPU_UTIL",
		opt:  Options{Env: envOf("GPU_UTIL", "0.7")},
		want: []string{"L3 E: exec vllm serve org/m --gpu-memory-utilization 0.7"}},
	{name: "built-up argument string", script: "ARGS=\"--model $M\"\nARGS=\"$ARGS --tp 2\"\nARGS+=\" --x\"\nvllm serve $ARGS",
		opt:  Options{Env: envOf("M", "m")},
		want: []string{"L4: vllm serve --model m --tp 2 --x"}},
	{name: "prefix assignment is not a word and does not stay", script: "CUDA_VISIBLE_DEVICES=0 vllm serve m\necho $CUDA_VISIBLE_DEVICES",
		want: []string{"L1: vllm serve m", "L2: echo ?$CUDA_VISIBLE_DEVICES"}},
	{name: "export and local are listed", script: "export HF_HOME=/data A\nf() { local X=1; }\nreadonly R=$HF_HOME",
		want: []string{"L1: export HF_HOME=/data A", "L2: local X=1", "L3: readonly R=/data"}},
	{name: "unset", script: "X=1\nunset X\necho \"$X\" ${X:-d}", want: []string{"L2: unset X", `L3: echo "" d`}},
	{name: "assignment from command substitution", script: "TP=$(nvidia-smi -L | wc -l)\nvllm serve --tp $TP",
		want: []string{"L2: vllm serve --tp ?\"$(nvidia-smi -L | wc -l)\""}},
	{name: "read makes unknown", script: "X=1\nread -r X\necho $X", want: []string{"L2: read -r X", "L3: echo ?$X"}},

	// Bash arrays.
	{name: "arrays", script: "ARGS=(--model \"a b\" --tp 2)\nARGS+=(--x $L)\nvllm serve \"${ARGS[@]}\" ${#ARGS[@]} \"${ARGS[1]}\" ${ARGS[-1]} $ARGS \"${ARGS[*]}\"",
		opt:  Options{Env: envOf("L", "y z")},
		want: []string{`L3: vllm serve --model "a b" --tp 2 --x y z 7 "a b" z --model "--model a b --tp 2 --x y z"`}},
	{name: "empty array", script: "X=()\nvllm serve m \"${X[@]}\" \"${X[0]}\"", want: []string{`L2: vllm serve m ""`}},
	{name: "array under an undecidable branch", script: "S=()\n[ -f /x ] && S=(--spec 3)\nvllm serve m \"${S[@]}\"",
		want: []string{"L2: [ -f /x ]", "L3: vllm serve m ?${S[@]}"}},
	{name: "declared arrays", script: "declare -a A=(1 2)\ndeclare -A M=([k]=v)\necho ${A[1]} ${M[k]}",
		want: []string{"L1: declare -a \"A=(1 2)\"", "L2: declare -A ?M=([k]=v)", "L3: echo 2 ?${M[k]}"}},
	{name: "unknown array element", script: "A=($(ls) b)\necho \"${A[@]}\"", want: []string{"L2: echo ?$(ls) b"}},

	// Control flow.
	{name: "several commands", script: "pip install x && exec vllm serve m; echo done\necho next",
		want: []string{"L1: pip install x", "L1 E: exec vllm serve m", "L1: echo done", "L2: echo next"}},
	{name: "if with a decidable test", script: "if [ -n \"$QUANT\" ]; then ARGS=\"--quantization $QUANT\"; else ARGS=; fi\nvllm serve m $ARGS",
		opt:  Options{Env: envOf("QUANT", "awq")},
		want: []string{"L1: [ -n awq ]", "L2: vllm serve m --quantization awq"}},
	{name: "test of an unset variable reads it as empty", script: "if [ -z \"$MODEL\" ]; then MODEL=org/default; fi\nvllm serve $MODEL",
		want: []string{"L1: [ -z ?$MODEL ]", "L2: vllm serve org/default"}},
	{name: "undecidable branch makes the value unknown", script: "if [ -f /x ]; then TP=2; else TP=4; fi\nvllm serve m --tp $TP",
		want: []string{"L1: [ -f /x ]", "L2: vllm serve m --tp ?$TP"}},
	{name: "undecidable branch, same value", script: "if [ -f /x ]; then TP=2; else TP=2; fi\nvllm serve m --tp $TP",
		want: []string{"L1: [ -f /x ]", "L2: vllm serve m --tp 2"}},
	{name: "optional flag appended under an undecidable test", script: "ARGS=\"--tp 2\"\n[ -f /x ] && ARGS=\"$ARGS --enforce-eager\"\n[ -d /y ] && ARGS=\"$ARGS --z\"\nvllm serve m $ARGS --port 8000",
		want: []string{"L2: [ -f /x ]", "L3: [ -d /y ]", "L4: vllm serve m --tp 2 ?${ARGS} --port 8000"}},
	{name: "|| default", script: "[ -n \"$TP\" ] || TP=1\nvllm serve m --tp $TP",
		want: []string{"L1: [ -n ?$TP ]", "L2: vllm serve m --tp 1"}},
	{name: "[[ ]] and elif", script: "if [[ $MODE == fast* ]]; then E=--enforce-eager; elif [[ -z $MODE ]]; then E=; else E=--x; fi\nvllm serve m $E",
		opt:  Options{Env: envOf("MODE", "slow")},
		want: []string{"L2: vllm serve m --x"}},
	{name: "case", script: "case \"$SIZE\" in\n  small) TP=1 ;;\n  big|huge) TP=4 ;;\n  *) TP=2 ;;\nesac\nexec vllm serve m --tp $TP",
		opt:  Options{Env: envOf("SIZE", "huge")},
		want: []string{"L6 E: exec vllm serve m --tp 4"}},
	{name: "case on an unknown subject", script: "case \"$(hostname)\" in\n  a) TP=1 ;;\n  *) TP=2 ;;\nesac\nexec vllm serve m --tp $TP",
		want: []string{"L5 E: exec vllm serve m --tp ?$TP"}},
	{name: "exec in a branch ends that path", script: "if [ -f /x ]; then TP=8; exec sleep 1; fi\nvllm serve m --tp ${TP:-2}",
		want: []string{"L1: [ -f /x ]", "L1 E: exec sleep 1", "L2: vllm serve m --tp 2"}},
	{name: "exit in a branch ends that path", script: "[ -n \"$M\" ] || { echo need M; exit 1; }\nvllm serve \"$M\"",
		want: []string{"L1: [ -n ?$M ]", "L1: echo need M", "L1: exit 1", "L2: vllm serve ?$M"}},
	{name: "loops list their commands", script: "for i in 1 2; do echo $i; done\nwhile true; do sleep 1; done\nuntil false; do X=1; done",
		want: []string{"L1: echo ?$i", "L2: true", "L2: sleep 1", "L3: false"}},
	{name: "single-item for", script: "for m in org/a; do vllm serve $m; done", want: []string{"L1: vllm serve org/a"}},
	{name: "pipelines and subshells do not change the shell", script: "X=1\necho a | X=2 cat\n(X=3; echo $X)\necho $X",
		want: []string{"L2: echo a", "L2: cat", "L3: echo 3", "L4: echo 1"}},
	{name: "background job", script: "vllm serve m --port 8001 &\nsleep 5 && wait",
		want: []string{"L1: vllm serve m --port 8001", "L2: sleep 5", "L2: wait"}},
	{name: "functions", script: "start() {\n  exec vllm serve \"$M\" --tp \"$TP\" \"$@\"\n}\nM=org/m\nTP=2\nstart --x",
		want: []string{"L2 E: exec vllm serve ?$M --tp ?$TP ?$@", "L6: start --x"}},
	{name: "function sees values set before it", script: "M=org/m\nstart() { vllm serve \"$M\"; }\nstart",
		want: []string{"L2: vllm serve org/m", "L3: start"}},
	{name: "function call forgets what it assigns", script: "TP=1\nf() { TP=2; }\nf\necho $TP",
		want: []string{"L3: f", "L4: echo ?$TP"}},

	// Opaque steps.
	{name: "source of an unknown file", script: "M=a\n. /conf/vllm.env\nvllm serve $M ${TP:-1}",
		want: []string{"L2: . /conf/vllm.env", "L3: vllm serve ?$M ?${TP:-1}"}},
	{name: "source of a virtualenv", script: "source /opt/venv/bin/activate\nvllm serve ${M:-m}",
		want: []string{"L1: source /opt/venv/bin/activate", "L2: vllm serve m"}},
	{name: "eval of a known string", script: "ARGS='--model m --chat-template \"a b\"'\neval exec vllm serve $ARGS",
		want: []string{"L2: eval exec vllm serve --model m --chat-template \"\\\"a\" \"b\\\"\"", `L2 E: exec vllm serve --model m --chat-template "a b"`}},
	{name: "eval of an unknown string", script: "M=a\neval \"$(cat /x)\"\necho $M",
		want: []string{"L2: eval ?\"$(cat /x)\"", "L3: echo ?$M"}},
	{name: "eval recursion is bounded", script: "X='eval \"$X\"'\neval \"$X\"\necho done",
		want: []string{`L2: eval "eval \"$X\""`, `L2: eval "eval \"$X\""`, `L2: eval "eval \"$X\""`, `L2: eval "eval \"$X\""`, `L2: eval "eval \"$X\""`, "L3: echo done"}},

	// String operations.
	{name: "pattern removal", script: `echo ${M##*/} ${M#*/} ${F%.*} ${F%%.*}`, opt: Options{Env: envOf("M", "org/sub/model", "F", "a.b.c")},
		want: []string{"L1: echo model sub/model a.b a"}},
	{name: "replace, case, length, slice", script: `echo ${M/\//--} ${M//o/0} ${M/#org/x} ${M/%m/M} ${M^^} ${M,,} ${M^} ${#M} ${M:4} ${M:0:3} ${M: -1}`,
		opt:  Options{Env: envOf("M", "org/m")},
		want: []string{"L1: echo org--m 0rg/m x/m org/M ORG/M org/m Org/m 5 m org m"}},
	{name: "operations on unknown values", script: `echo ${M##*/} ${#M} ${M/a/b}`,
		want: []string{"L1: echo ?${M##*/} ?${#M} ?${M/a/b}"}},
	{name: "arithmetic", script: `vllm serve m --port $((BASE + 1)) --x $((2 ** 10)) --y $((Z + 1)) --w $((i++))`, opt: Options{Env: envOf("BASE", "8000")},
		want: []string{"L1: vllm serve m --port 8001 --x 1024 --y 1 --w ?$((i++))"}},
	{name: "arithmetic on an unknown", script: `echo $((N * 2))`, opt: Options{Env: envOf("N", "abc")},
		want: []string{`L1: echo ?"$((N * 2))"`}},

	// Compose $$.
	{name: "raw dollars", script: "exec vllm serve $$MODEL --tp $${TP:-2} --price 5$$", opt: Options{RawDollars: true, Env: envOf("MODEL", "m")},
		want: []string{"L1 E: exec vllm serve m --tp 2 --price 5$"}},
	{name: "without raw dollars $$ is the pid", script: "echo $$MODEL", opt: Options{Env: envOf("MODEL", "m")},
		want: []string{"L1: echo ?$$MODEL"}},

	// Real-world shapes.
	{name: "bash -c one-liner from compose", script: "pip install flash-attn && exec vllm serve $MODEL --tp ${TP:-2} --max-model-len ${MAX_LEN:-32768}",
		opt:  Options{Env: envOf("MODEL", "Qwen/Qwen3-32B-AWQ"), Args: []string{}},
		want: []string{"L1: pip install flash-attn", "L1 E: exec vllm serve Qwen/Qwen3-32B-AWQ --tp 2 --max-model-len 32768"}},
	{name: "folded command with defaults", script: "/root/.local/bin/uv pip install triton && python -m vllm.entrypoints.openai.api_server\n--model ${MODEL_NAME:-/workspace/models}\n--tp ${TP:-1}\n${PREFIX_CACHING_FLAG:---enable-prefix-caching}\n${TOOL_ARGS:-}",
		want: []string{"L1: /root/.local/bin/uv pip install triton", "L1: python -m vllm.entrypoints.openai.api_server", "L2: --model /workspace/models", "L3: --tp 1", "L4: --enable-prefix-caching"}},
	{name: "heredoc body is not a command", script: "cat > /tmp/x <<EOF\nvllm serve nope\nEOF\nvllm serve yes",
		want: []string{"L1: cat", "L4: vllm serve yes"}},
}

func TestParse(t *testing.T) {
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := Parse(tc.script, tc.opt)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tc.want, renderAll(cmds)); diff != "" {
				t.Errorf("commands (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRunsNothing(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "ran")
	script := "X=$(touch " + marker + ")\nvllm serve `touch " + marker + "` \"$(touch " + marker + ")\" <(touch " + marker + ")\neval \"$(touch " + marker + ")\""
	cmds, err := Parse(script, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 2 {
		t.Errorf("got %d commands, want 2: %q", len(cmds), renderAll(cmds))
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a command substitution ran: stat %s: %v", marker, err)
	}
}

func TestParseSyntaxError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		script    string
		opt       Options
		line, col int
	}{
		{name: "unclosed quote", script: "echo ok\nvllm serve \"--model m\n", line: 2, col: 12},
		{name: "if without fi", script: "if true; then\n  vllm serve m\n", line: 1, col: 1},
		{name: "raw dollars keep the raw column", script: "echo $$A $$B\necho 'x", opt: Options{RawDollars: true}, line: 2, col: 6},
		{name: "raw dollars on the error line", script: "echo $$A $$B (", opt: Options{RawDollars: true}, line: 1, col: 14},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := Parse(tc.script, tc.opt)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse = %q, %v; want a *SyntaxError", renderAll(cmds), err)
			}
			if se.Line != tc.line || se.Col != tc.col {
				t.Errorf("error at %d:%d, want %d:%d (%v)", se.Line, se.Col, tc.line, tc.col, err)
			}
			if want := strconv.Itoa(tc.line) + ":" + strconv.Itoa(tc.col) + ": "; !strings.HasPrefix(err.Error(), want) {
				t.Errorf("error %q does not start with %q", err, want)
			}
		})
	}
}

func TestWordLines(t *testing.T) {
	cmds, err := Parse("\n\nexec vllm serve \\\n  --model \"$@\" \\\n  --tp 2", Options{Args: []string{"a", "b"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cmds) != 1 {
		t.Fatalf("got %q, want one command", renderAll(cmds))
	}
	var lines []int
	for _, w := range cmds[0].Words {
		lines = append(lines, w.Line)
	}
	if want := []int{3, 3, 3, 4, 4, 4, 5, 5}; !cmp.Equal(lines, want) {
		t.Errorf("word lines %v, want %v", lines, want)
	}
	if cmds[0].Line != 3 || !cmds[0].Exec {
		t.Errorf("command line %d exec %v, want 3 true", cmds[0].Line, cmds[0].Exec)
	}
}

func TestArgv(t *testing.T) {
	cmds, err := Parse(`vllm serve m --tp "$TP" --max-model-len ${LEN:-8192}`, Options{})
	if err != nil {
		t.Fatal(err)
	}
	argv, unknown := cmds[0].Argv()
	if want := []string{"vllm", "serve", "m", "--tp", "$TP", "--max-model-len", "8192"}; !cmp.Equal(argv, want) {
		t.Errorf("argv %q, want %q", argv, want)
	}
	if want := []bool{false, false, false, false, true, false, false}; !cmp.Equal(unknown, want) {
		t.Errorf("unknown %v, want %v", unknown, want)
	}
}

func TestPositionalArgs(t *testing.T) {
	for _, tc := range []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{"sh"}, []string{}},
		{[]string{"sh", "--model", "m"}, []string{"--model", "m"}},
	} {
		got := PositionalArgs(tc.in)
		if got == nil || !cmp.Equal(got, tc.want) {
			t.Errorf("PositionalArgs(%q) = %#v, want %q", tc.in, got, tc.want)
		}
	}
}
