package shellcmd

import (
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary scripts to Parse, FindVLLM and IsShell: they must
// never panic nor hang, and what Parse returns must be consistent.
func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		f.Add(tc.script, tc.opt.RawDollars, tc.opt.Args != nil)
	}
	f.Add(benchScript, false, true)
	for _, s := range []string{
		"A=x\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\nA=$A$A\necho $A",
		"X='eval \"$X\"'; eval \"$X\"",
		"f() { f; }; f",
		"${a:-${b:-${c:-${d:-${e:-x}}}}}",
		"echo ${x/#/} ${x//} ${x:-1:2} ${x: -9999999999} ${#} ${@:1} ${!x} ${x[@]}",
		"echo $((1/0)) $((2**63)) $(( (1 )) $((x=1)) $((-9223372036854775807-1 / -1))",
		"case $x in *) ;; esac; case x in [) ;; esac",
		"[[ $a =~ ^x ]] && [[ -z $b || $c == d* ]]",
		"echo $'\\x' $'\\u' $'\\U11FFFF' $'\\777' $'\\",
		"IFS=; echo $A; unset IFS; set -f; set +f; set -o noglob",
		"coproc x { vllm serve m; }; time vllm serve m; ! vllm serve m",
		"for ((i=0;i<3;i++)); do vllm serve m$i; done; select x in a b; do break; done",
		"exec env -i -u A -C / -S 'vllm serve' nohup setsid conda run -n x uv run vllm serve m",
		"$$$$$${x}$$",
		"let x=1 y++; declare -A m=([a]=1); local -n r=x; export -f f; typeset -i n=1+1",
		"read; mapfile -t L < f; printf -v V %s 1; getopts ab o; shift $N; shift x",
		"x=(a b); x[1]=c; x+=(d); echo ${x[0]} ${#x[@]}",
		"cat <<-EOF\n\tvllm serve x\n\tEOF\n",
		"echo ~; echo ~/x ~root; HOME=; echo ~",
		"echo \"${x:-\"a b\"}\" ${x:-'a b'} ${x:+\"$@\"}",
	} {
		f.Add(s, false, false)
		f.Add(s, true, true)
	}
	f.Fuzz(func(t *testing.T, script string, raw, withArgs bool) {
		opt := Options{RawDollars: raw, Env: envOf("HOME", "/root", "TP", "2", "EMPTY", "", "L", "a b  c")}
		if withArgs {
			opt.Args = []string{"--model", "a b", ""}
		}
		cmds, err := Parse(script, opt)
		if err != nil {
			if _, ok := err.(*SyntaxError); !ok {
				t.Fatalf("error %T %v, want *SyntaxError", err, err)
			}
			return
		}
		lines := strings.Count(script, "\n") + 1
		for _, c := range cmds {
			if len(c.Words) == 0 {
				t.Fatalf("command without words at line %d", c.Line)
			}
			if c.Line < 1 || c.Line > lines {
				t.Fatalf("command line %d outside 1..%d", c.Line, lines)
			}
			for _, w := range c.Words {
				if w.Line < 1 || w.Line > lines {
					t.Fatalf("word %q line %d outside 1..%d", w.Text, w.Line, lines)
				}
			}
			argv, unknown := c.Argv()
			if len(argv) != len(c.Words) || len(unknown) != len(c.Words) {
				t.Fatalf("Argv lengths %d/%d, want %d", len(argv), len(unknown), len(c.Words))
			}
			if c.Exec != (!c.Words[0].Unknown && c.Words[0].Text == "exec") {
				t.Fatalf("Exec %v for %q", c.Exec, c.Words[0].Text)
			}
		}
		if cmd, i, ok := FindVLLM(cmds); ok && (i < 0 || i >= len(cmd.Words)) {
			t.Fatalf("launcher %d outside the %d words", i, len(cmd.Words))
		}
		if s, args, ok := IsShell(strings.Fields(script)); ok && (args == nil || !strings.Contains(script, s)) {
			t.Fatalf("IsShell returned script %q args %v", s, args)
		}
	})
}
